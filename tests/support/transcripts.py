"""The transcript generators of the import tests, kept in dreamcli.testing.transcripts (the import
benchmark uses them too)."""

from dreamcli.testing.transcripts import (
    ClaudeSession,
    Expected,
    claude_subagent_file,
    claude_transcript,
    code_text,
    codex_rollout,
    utc,
)

__all__ = ["ClaudeSession", "Expected", "claude_subagent_file", "claude_transcript", "code_text", "codex_rollout",
           "utc"]
