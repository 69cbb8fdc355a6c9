"""The lines of a session log as `export sessions --format parquet` reads them (docs/session-log.md,
"Parquet export"): it keeps what it can and counts what it leaves out.

A line that is a JSON object with a string `type` and a schema version this dreamcli reads is a row, values
of the wrong type and all: they are null in their columns and stay in `event`. The session reader
(`dreamcli.sessions.reader`) skips such a line instead, which would lose a whole session whose
`session.start` has one. A lone surrogate escape (a cut emoji, as JavaScript tools write it) is read as
U+FFFD and a number no float holds (NaN, Infinity, 1e400) as null: Parquet's UTF-8 strings and strict JSON
readers hold neither. The rest (not JSON, nested too deep, not an event, a newer schema version, a last line
cut off mid-write) is left out and counted by reason in `LeftOut`, with the first place it was seen, so the
export can say so as `sessions list` and `dream` say what they skip."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dreamcli.codec import loads, loads_as_json_reads, without_lone_surrogates
from dreamcli.numbers import finite_json
from dreamcli.sessions.reader import UPGRADERS
from dreamcli.sessions.schema import SCHEMA_VERSION
from dreamcli.textnorm import escaped

# reason -> what it means, in the words of the export's note
REASONS = {"corrupt": "not JSON or not an event", "truncated": "cut off at the end",
           "unsupported": "of a newer schema version"}


@dataclass
class LeftOut:
    """What the export did not write: lines by reason, sessions with no line kept, and where the first
    of them was (`FILE:LINE`, or `SESSION_ID:LINE in the bucket`), printable: a file name's byte that is not
    UTF-8 as \\xNN (`--json` cannot print it as read, and it names the file as the stderr note does)."""

    corrupt: int = 0
    truncated: int = 0
    unsupported: int = 0
    sessions: int = 0
    example: str = ""

    @property
    def lines(self) -> int:
        return self.corrupt + self.truncated + self.unsupported

    def count(self, reason: str, where: str) -> None:
        setattr(self, reason, getattr(self, reason) + 1)
        self.example = self.example or escaped(where)

    def session(self, where: str) -> None:
        self.sessions += 1
        self.example = self.example or escaped(where)

    def to_json(self) -> dict[str, Any]:
        return {"sessions": self.sessions, "lines": self.lines,
                "lines_by_reason": {r: getattr(self, r) for r in REASONS}, "example": self.example or None}


def read_lines(lines: Iterable[bytes], name: str, left: LeftOut) -> list[dict[str, Any]]:
    """The events of one session's lines (a file, or a bucket session's parts end to end); what is left
    out is counted into `left` as `name:LINE`, and a session with no event kept as `name`."""
    events: list[dict[str, Any]] = []
    lineno = 0
    for raw in lines:
        lineno += 1
        if raw.isspace():
            continue
        event, reason = parse(raw)
        if event is not None:
            events.append(event)
            continue
        if reason == "corrupt" and not raw.endswith(b"\n"):
            reason = "truncated"  # the last line of a file a writer was killed in the middle of
        left.count(reason, f"{name}:{lineno}")
    if not events:
        left.session(name)
    return events


def parse(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """(event, "") for a line the export keeps, else (None, reason): a key of REASONS."""
    try:
        obj = loads(raw)
    except (ValueError, RecursionError):  # what msgspec refuses: NaN, a lone surrogate escape, 1e400, a BOM
        try:
            obj = finite_json(without_lone_surrogates(loads_as_json_reads(raw)))
        except (ValueError, RecursionError):
            return None, "corrupt"
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        return None, "corrupt"
    version = obj.get("v")
    upgrade = UPGRADERS.get(version) if type(version) is int else None
    if upgrade is None:
        newer = type(version) is int and version > SCHEMA_VERSION
        return None, "unsupported" if newer else "corrupt"
    try:
        return upgrade(obj), ""
    except (TypeError, ValueError, KeyError, AttributeError):  # an older line with values it cannot upgrade
        return None, "corrupt"
