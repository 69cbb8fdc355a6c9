"""Session log schema v1 (docs/session-log.md; JSON Schema in dreamcli/schemas/session-log.v1.schema.json)."""

from __future__ import annotations

SCHEMA_VERSION = 1

SESSION_START = "session.start"
MESSAGE = "message"
TOOL = "tool"
OUTCOME_EVALUATION = "outcome.evaluation"
SUBAGENT = "subagent"
SESSION_END = "session.end"
EVENT_TYPES = (SESSION_START, MESSAGE, TOOL, OUTCOME_EVALUATION, SUBAGENT, SESSION_END)

END_STATUSES = ("completed", "error", "interrupted", "max_turns", "incomplete")  # incomplete: imported only
OUTCOME_RESULTS = ("satisfied", "needs_revision", "max_iterations_reached", "failed", "interrupted")
SOURCES = ("dreamcli", "claude-code", "codex", "managed-agents", "synthetic")

# Totals carried by session.end (all optional; readers default missing ones to 0).
TOTAL_KEYS = (
    "turns", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "cost_usd", "tool_calls", "tool_errors", "duration_ms", "tool_unanswered",
)


def schema_path() -> str:
    from importlib.resources import files

    return str(files("dreamcli") / "schemas" / "session-log.v1.schema.json")
