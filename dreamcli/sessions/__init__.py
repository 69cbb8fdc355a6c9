"""Session logs (docs/session-log.md): schema, writer, streaming reader, summaries, importers."""
