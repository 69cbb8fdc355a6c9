"""The command-line layer: Typer commands that parse arguments, call the core and render."""
