"""Grade records, append-only in `grades/grades.jsonl` (format: docs/grades.md).

One line per graded (session, outcome spec) result:
  {"v": 1, "ts", "grade_id", "session_id", "outcome", "spec_hash", "result", "score", "threshold",
   "criteria": [{"id", "passed", "reason", "evidence", "weight", "kind", "flaky"}],
   "grader_model", "usage", "trials", "error"}
`result` is one of satisfied | needs_revision | failed | partial | error (error = unscored; partial =
--checks-only over a spec with grader criteria: only the checks were run, never a pass).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dreamcli.ids import new_ulid
from dreamcli.outcomes.grade_record import grade_problem
from dreamcli.redaction import Redactor
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line, line_start, open_append, write_all
from dreamcli.workspace.home import Workspace

GRADE_SCHEMA_VERSION = 1


def grades_path(ws: Workspace) -> Path:
    return ws.grades_file


def append_grade(ws: Workspace, record: dict[str, Any], *, redactor: Redactor | None = None) -> dict[str, Any]:
    """Append one grade record (envelope added, secrets redacted with `redactor`, by default the workspace
    config's: built-in rules and `redaction.patterns`) and return it."""
    full = _envelope(record, redactor or store_redactor(ws))
    append_line(grades_path(ws), json.dumps(full, ensure_ascii=False, separators=(",", ":")))
    return full


def store_redactor(ws: Workspace) -> Redactor:
    """The workspace's redactor: the built-in rules plus its config's `redaction.patterns`."""
    from dreamcli.config import workspace_redactor

    return workspace_redactor(ws.config_path)


def _envelope(record: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    full = {"v": GRADE_SCHEMA_VERSION, "ts": now_rfc3339(), "grade_id": new_ulid(), **record}
    return redact_record(full, redactor)


def redact_record(full: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """The whole record redacted. Fast path: one scan of all its strings joined; only when that finds a
    secret is the record redacted field by field (keys such as `password` included)."""
    texts: list[str] = []
    _strings(full, texts)
    joined = "\n".join(texts)
    if redactor.redact_text(joined) is joined and not _sensitive_keys(full):
        return full
    return redactor.redact_obj(full)


def _strings(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            _strings(v, out)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _strings(v, out)


def _sensitive_keys(obj: Any) -> bool:
    from dreamcli.redaction.rules import sensitive_value_for_key

    if isinstance(obj, dict):
        return any((isinstance(k, str) and isinstance(v, str) and sensitive_value_for_key(k, v))
                   or _sensitive_keys(v) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return any(_sensitive_keys(v) for v in obj)
    return False


class GradeAppender:
    """Appends many grade records through one open file (each record is still one whole-line write)."""

    def __init__(self, ws: Workspace, *, redactor: Redactor | None = None) -> None:
        self.path = grades_path(ws)
        self.redactor = redactor or store_redactor(ws)
        self._fd: int | None = None

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        full = _envelope(record, self.redactor)
        if self._fd is None:
            self._fd = open_append(self.path, readable=True)
        line = json.dumps(full, ensure_ascii=False, separators=(",", ":")) + "\n"
        write_all(self._fd, line_start(self._fd) + line.encode("utf-8"))
        return full

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> GradeAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_grades(ws: Workspace) -> Iterator[dict[str, Any]]:
    """Every readable grade record in append order; corrupt lines and wrong-typed records are skipped."""
    path = grades_path(ws)
    if not path.exists():
        return
    with open(path, "rb") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            if grade_problem(rec) is None:
                yield rec


def latest_by_session(ws: Workspace) -> dict[str, dict[str, Any]]:
    """The most recent grade of each session (any outcome spec): the whole file read, every record kept.
    Listings use `dreamcli.outcomes.grade_index.latest_grades` (an index; only the sessions shown)."""
    latest: dict[str, dict[str, Any]] = {}
    for rec in iter_grades(ws):
        latest[rec["session_id"]] = rec
    return latest
