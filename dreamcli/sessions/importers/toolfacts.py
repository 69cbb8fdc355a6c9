"""What a tool's output text says about how the tool ran: exit code, wall time, timeout, refusal.

Both formats put these facts in the text the model saw rather than in fields:
- Codex `shell_command` / `exec_command` (unified exec): a header of `Key: value` lines before
  `Output:` — `Exit code: 2`, `Process exited with code 2` (not always the first line: `Chunk ID`
  and `Wall time` come first), `Process running with session ID 42` (still running: no exit code),
  `Wall time: 1.2 seconds`;
- Codex `shell` (JSON): `{"output": ..., "metadata": {"exit_code": 2, "duration_seconds": 1.2}}`;
- Claude Code Bash: `Exit code 1` on the first line of an error result, `Command timed out after …`;
  a refused tool use: "The user doesn't want to proceed with this tool use…".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dreamcli import codec

HEADER_LINES = 8  # the facts are in the first lines of an output; never scan a whole output
_EXIT = re.compile(r"^(?:Exit code:?|Process exited with code)\s*(-?\d+)\s*$")
_WALL = re.compile(r"^Wall time:\s*(\d+(?:\.\d+)?)\s*s(?:econds?)?\s*$")
_RUNNING = re.compile(r"^Process running with session ID\s+\S+")
_TIMEOUT_START = ("Command timed out after", "command timed out after")
_REFUSED = ("The user doesn't want to proceed with this tool use", "Permission to use ",
            "The user doesn't want to take this action")
_STARTS = ("Exit code", "Process exited with code", "Process running with session ID", "Chunk ID:", "Wall time:",
           *_TIMEOUT_START, *_REFUSED)
TIMEOUT_EXIT = 124  # what Codex reports for a command it killed on timeout


@dataclass(slots=True)
class ToolFacts:
    """Facts about one tool run; None where the transcript does not say."""

    exit_code: int | None = None
    duration_ms: float | None = None
    error_kind: str | None = None
    failed: bool | None = None  # None: the text does not say either way
    running: bool = False  # a background process still running when the output was taken
    truncated: bool = False

    def merge(self, other: ToolFacts | None) -> ToolFacts:
        """These facts, completed by `other` where these say nothing."""
        if other is None:
            return self
        exit_code = self.exit_code if self.exit_code is not None else other.exit_code
        return ToolFacts(
            exit_code=exit_code,
            duration_ms=self.duration_ms if self.duration_ms is not None else other.duration_ms,
            error_kind=self.error_kind or other.error_kind,
            failed=self.failed if self.failed is not None else other.failed,
            running=(self.running or other.running) and exit_code is None,
            truncated=self.truncated or other.truncated,
        )


def facts_from_text(text: str) -> ToolFacts:
    """Facts from the header lines of an output text (see the module docstring)."""
    facts = ToolFacts()
    if not text.startswith(_STARTS):  # most outputs: nothing to read, decided without a scan
        return facts
    head = text[:600]
    for n, line in enumerate(head.split("\n")):
        if n >= HEADER_LINES or line.startswith("Output:"):
            break
        line = line.strip()
        m = _EXIT.match(line)
        if m:
            facts.exit_code = int(m.group(1))
            continue
        m = _WALL.match(line)
        if m:
            facts.duration_ms = round(float(m.group(1)) * 1000, 1)
            continue
        if _RUNNING.match(line):
            facts.running = True
    if facts.exit_code is not None:
        facts.failed = facts.exit_code != 0
    if text.startswith(_REFUSED):
        facts.failed, facts.error_kind = True, "refused"
    elif text.startswith(_TIMEOUT_START):
        facts.failed, facts.error_kind = True, "timeout"
    elif facts.exit_code == TIMEOUT_EXIT and "timed out" in text[:2000]:
        facts.error_kind = "timeout"
    return facts


def facts_from_json_output(data: dict[str, Any]) -> tuple[ToolFacts, str | None]:
    """(facts, output text) of the JSON output of Codex's `shell` tool."""
    meta = data.get("metadata")
    code = meta.get("exit_code") if isinstance(meta, dict) else data.get("exit_code")
    facts = ToolFacts()
    if isinstance(code, int) and not isinstance(code, bool):
        facts.exit_code, facts.failed = code, code != 0
    secs = meta.get("duration_seconds") if isinstance(meta, dict) else None
    if isinstance(secs, int | float) and not isinstance(secs, bool) and secs >= 0:
        facts.duration_ms = round(float(secs) * 1000, 1)
    out = data.get("output")
    if isinstance(out, str) and facts.exit_code == TIMEOUT_EXIT and "timed out" in out[:500]:
        facts.error_kind = "timeout"
    return facts, out if isinstance(out, str) else None


def parse_json_output(text: str) -> dict[str, Any] | None:
    """The object of a JSON output (`{"output": …, "metadata": …}`), or None."""
    if not text.startswith("{") or '"exit_code"' not in text:
        return None
    try:
        data = codec.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def duration_ms(value: Any) -> float | None:
    """Milliseconds of a duration as Codex writes it: `{"secs": 1, "nanos": 5}` (Rust Duration), a
    number of milliseconds, or a string like "1.5s" / "120ms"."""
    if isinstance(value, dict):
        secs, nanos = value.get("secs"), value.get("nanos", 0)
        if isinstance(secs, int) and isinstance(nanos, int) and secs >= 0 and nanos >= 0:
            return round(secs * 1000 + nanos / 1e6, 1)
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if isinstance(value, str):
        m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$", value)
        if m:
            n = float(m.group(1))
            return round(n if m.group(2) == "ms" else n * 1000, 1)
    return None
