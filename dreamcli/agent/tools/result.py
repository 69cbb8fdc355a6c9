"""What a tool call returns (`ToolResult`) and how long output is capped.

A leaf of dreamcli.agent: the loop, the callbacks, the tools and dreamcli.orchestration can all use it without
an import cycle (it imports dreamcli.redaction and the run's credentials only inside its functions).

Output is redacted before it is capped. Redaction happens again when the session log is written, but a secret
the cap cuts in two leaves parts no rule matches (a `ghp_` token's last 30 characters, with no `ghp_`): so
`cap_output` redacts the whole text first, and only then keeps the head and the tail of what is left. The
marker's counts are bytes of that redacted text (a secret counts as its `[REDACTED:<kind>]`). Redaction is
linear: some 20-500 ms for 5 MB of ordinary output, a few seconds for 5 MB dense with secret-like `key=value`
lines (docs/architecture.md, "How to add a tool"). A cut never splits a marker either.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

ERROR_KINDS = ("refused", "timeout", "exit_nonzero", "not_found", "invalid_input", "outside_root", "exception")
TRUNCATION_MARKER = "\n[... output truncated: {omitted} of {total} bytes omitted ...]\n"
MARKER_ROOM = 100  # bytes of the cap left for TRUNCATION_MARKER
# Characters dropped next to a cut made before redaction (the end of what a shell kept of a long output's head,
# the start of its tail): a secret across it may show its part there unredacted. Longer than any secret the
# built-in rules leave unmatched when cut (a long token, a quoted value of 512 characters, half a JWT); a private
# key, which can be longer (8192-bit RSA: 6.4 KB), loses its whole cut block (`without_edges`).
EDGE_GUARD = 4096
_MARKER_MAX = 64  # bytes: longer than any redaction marker
# The lines around a PEM block the PRIVATE_KEY rule redacts (dreamcli.redaction.rules)
_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=\s\\:,.\-]*")  # what a key's body (and its headers) is made of

ToolContent = str | list[dict[str, Any]]
Redact = Callable[[str], str]


@dataclass
class ToolResult:
    """What a tool call produced. `content` goes back to the model as the tool_result content."""

    content: ToolContent
    is_error: bool = False
    exit_code: int | None = None
    error_kind: str | None = None
    truncated: bool = False
    approval: str | None = None  # allowed, asked, refused, yes (set by the approval gate)

    @classmethod
    def error(cls, message: str, kind: str, **kw: Any) -> ToolResult:
        return cls(content=message, is_error=True, error_kind=kind, **kw)


def builtin_redact(text: str) -> str:
    """The built-in rules and the credentials this process was started with (a tool given no redactor); the
    run's own (`ToolEnv.redact`) also applies the patterns of its config."""
    from dreamcli.agent.tools.credentials import credential_patterns
    from dreamcli.redaction import for_patterns

    return for_patterns(credential_patterns()).redact_text(text)


def cap_output(text: str, limit: int, redact: Redact | None = None) -> tuple[str, bool]:
    """`text` redacted (`redact`, else `builtin_redact`), then at most `limit` bytes (UTF-8) of it: head and
    tail with a marker in between. (text, whether it was cut)."""
    clean = (redact or builtin_redact)(text)
    data = clean.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return clean, False
    return capped_text(data, data, len(data), limit), True


def capped_text(head: bytes, tail: bytes, total: int, limit: int) -> str:
    """At most `limit` bytes: the start of `head`, a marker, the end of `tail` (of `total` bytes in all). Both
    are redacted already; a cut that would split a redaction marker leaves the whole marker out."""
    keep = max(0, limit - MARKER_ROOM)
    start = head[: _before_marker(head, keep // 2)].decode("utf-8", errors="ignore")
    end = tail[_after_marker(tail, max(0, len(tail) - (keep - keep // 2))):].decode("utf-8", errors="ignore")
    omitted = total - len(start.encode()) - len(end.encode())
    return start + TRUNCATION_MARKER.format(omitted=omitted, total=total) + end


def without_edges(head: str, tail: str) -> tuple[str, str]:
    """`head` and `tail`, the redacted ends of an output whose middle was dropped unseen, without the EDGE_GUARD
    characters next to that middle: a secret cut there, before any redaction, shows no part of itself. A private
    key can be longer than that: the tail also loses all up to the first PEM END line with no BEGIN before it
    (the middle cut its BEGIN off, so no rule matched its body), the head all from a last BEGIN with no END."""
    head = head[: _open_block(head)]
    return head[: max(0, len(head) - EDGE_GUARD)], tail[max(EDGE_GUARD, _closed_block(tail)):]


def _closed_block(text: str) -> int:
    """Where the first PEM END line of `text` ends if only a key's body comes before it, no BEGIN (a block whose
    start was cut off), else 0: an END line after anything else (a log line quoting it) is left, with that text."""
    end = _PEM_END.search(text)
    if end is None or _PEM_BEGIN.search(text, 0, end.start()) is not None:
        return 0
    return end.end() if _PEM_BODY.fullmatch(text, 0, end.start()) else 0


def _open_block(text: str) -> int:
    """Where the last PEM BEGIN line of `text` starts if only a key's body comes after it, no END (a block whose
    end was cut off), else len(text)."""
    begins = list(_PEM_BEGIN.finditer(text))
    if begins and _PEM_END.search(text, begins[-1].end()) is None and _PEM_BODY.fullmatch(text, begins[-1].end()):
        return begins[-1].start()
    return len(text)


@cache
def _marker_bytes() -> re.Pattern[bytes]:
    from dreamcli.redaction import MARKER_RE

    return re.compile(MARKER_RE.pattern.encode())


def _before_marker(data: bytes, cut: int) -> int:
    """`cut`, or the start of the redaction marker it falls inside (what comes before it is kept)."""
    for m in _marker_bytes().finditer(data, max(0, cut - _MARKER_MAX), cut + _MARKER_MAX):
        if m.start() < cut < m.end():
            return m.start()
    return cut


def _after_marker(data: bytes, cut: int) -> int:
    """`cut`, or the end of the redaction marker it falls inside (what comes after it is kept)."""
    for m in _marker_bytes().finditer(data, max(0, cut - _MARKER_MAX), cut + _MARKER_MAX):
        if m.start() < cut < m.end():
            return m.end()
    return cut
