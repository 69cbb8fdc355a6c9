"""Grade records, append-only in `grades/grades.jsonl` (format: docs/grades.md).

One line per graded (session, outcome spec) result:
  {"v": 1, "ts", "grade_id", "session_id", "outcome", "spec_hash", "result", "score", "threshold",
   "criteria": [{"id", "passed", "reason", "evidence", "weight", "kind", "flaky"}],
   "grader_model", "usage", "trials", "error"}
`result` is one of satisfied | needs_revision | failed | error (error = unscored).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dreamcli.ids import new_ulid
from dreamcli.redaction import default_redactor
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line
from dreamcli.workspace.home import Workspace

GRADE_SCHEMA_VERSION = 1


def grades_path(ws: Workspace) -> Path:
    return ws.grades_dir / "grades.jsonl"


def append_grade(ws: Workspace, record: dict[str, Any]) -> dict[str, Any]:
    """Append one grade record (envelope added, secrets redacted) and return it."""
    full = {"v": GRADE_SCHEMA_VERSION, "ts": now_rfc3339(), "grade_id": new_ulid(), **record}
    full = default_redactor().redact_obj(full)
    append_line(grades_path(ws), json.dumps(full, ensure_ascii=False, separators=(",", ":")))
    return full


def iter_grades(ws: Workspace) -> Iterator[dict[str, Any]]:
    """Every readable grade record in append order; corrupt lines are skipped."""
    path = grades_path(ws)
    if not path.exists():
        return
    with open(path, "rb") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("session_id"):
                yield rec


def latest_by_session(ws: Workspace) -> dict[str, dict[str, Any]]:
    """The most recent grade of each session (any outcome spec)."""
    latest: dict[str, dict[str, Any]] = {}
    for rec in iter_grades(ws):
        latest[rec["session_id"]] = rec
    return latest
