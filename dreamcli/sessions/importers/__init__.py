"""Importers of other agents' transcripts (Claude Code, Codex) into session logs (schema v1).

    from dreamcli.sessions.importers.runner import import_transcripts
    summary = import_transcripts(ws, "claude-code", Path("~/.claude/projects"))

Each transcript becomes one session with `source` set and `import: {path, source_id}` on its
session.start; sub-agents become child sessions. Session ids are derived from the source id and the
start time, so re-importing skips what is already there. Modules import each other (and callers
import them) directly: this file imports nothing, so recovery's sweep (`journal.sweep_staging`) does not
load every importer.
"""
