"""`dreamcli config show`: the merged configuration and where each value came from."""

from __future__ import annotations

import json
from typing import Any

import typer

from dreamcli.cli.common import open_workspace, print_json

HELP = "The configuration in effect: defaults, the user's file, the workspace's file."
EPILOG = """Layers, lowest first: built-in defaults; the user's config
($DREAMCLI_CONFIG, else $XDG_CONFIG_HOME/dreamcli/config.yaml, else
~/.config/dreamcli/config.yaml); the workspace's config.yaml. A section merges
key by key; a list replaces the one below it.

Examples:

\b
  dreamcli config show
  dreamcli config show --json
"""

config_app = typer.Typer(help=HELP, epilog=EPILOG, no_args_is_help=True)


def _leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def _source_of(key: str, layers: list[tuple[str, Any, dict[str, Any]]]) -> str:
    for source, file, data in reversed(layers):
        node: Any = data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return f"{source} ({file})"
    return "default"


@config_app.command("show")
def show_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON: the values, their sources, the files."),
) -> None:
    """Every setting with its value and its source (default, user or workspace file)."""
    from dreamcli.config import config_layers, load_config, user_config_path

    ws = open_workspace(ctx, create=False)
    layers = config_layers(ws.config_path)
    values = _leaves(load_config(ws.config_path).model_dump(mode="json"))
    sources = {key: _source_of(key, layers) for key in values}
    files = {"user": str(user_config_path()), "workspace": str(ws.config_path)}
    if as_json:
        print_json({"version": 1, "config": load_config(ws.config_path).model_dump(mode="json"),
                    "sources": sources, "files": files,
                    "loaded": [str(f) for _, f, _ in layers]})
        return
    width = max(len(k) for k in values)
    lines = [f"# user:      {files['user']}" + ("" if any(s == "user" for s, _, _ in layers) else " (none)"),
             f"# workspace: {files['workspace']}" + ("" if any(s == "workspace" for s, _, _ in layers)
                                                       else " (none)")]
    for key, value in values.items():
        shown = json.dumps(value, ensure_ascii=False)
        lines.append(f"{key.ljust(width)} = {shown}   # {sources[key].split(' ')[0]}")
    typer.echo("\n".join(lines))


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
