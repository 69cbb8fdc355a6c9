"""Session logs (Contract 1): schema, writer, streaming reader, summaries, importers."""
