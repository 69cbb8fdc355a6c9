"""Listings read the latest grade of the sessions they show through state/grades-index.sqlite: the same
answer as a full read of grades/grades.jsonl, kept current by reading only the lines appended since, and
rebuilt when the file is replaced; a broken index falls back to the scan."""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any, BinaryIO

import pytest

from dreamcli.outcomes import grade_index
from dreamcli.outcomes.grade_index import LISTING_FIELDS, index_path, latest_grades
from dreamcli.outcomes.store import append_grade, latest_by_session
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.home import Workspace


def _expected(ws: Workspace, ids: list[str]) -> dict[str, dict[str, Any]]:
    full = latest_by_session(ws)
    return {sid: {k: full[sid][k] for k in LISTING_FIELDS if k in full[sid]} for sid in ids if sid in full}


def _offset(ws: Workspace) -> int:
    with closing(sqlite3.connect(index_path(ws))) as db:
        return int(db.execute("SELECT offset FROM source").fetchone()[0])


def _grade(ws: Workspace, sid: str, result: str, score: float = 0.5) -> None:
    append_grade(ws, {"session_id": sid, "outcome": "o", "result": result, "score": score, "criteria": []})


def test_the_index_answers_what_a_full_read_answers(ws: Workspace) -> None:
    generate(ws, GenConfig(sessions=60, seed=3))
    graded = list(latest_by_session(ws))
    assert len(graded) > 10
    ids = [*graded, "01NOTGRADEDNOTGRADEDNOTGRA"]
    assert latest_grades(ws, ids) == _expected(ws, ids)
    assert index_path(ws).exists() and oct(index_path(ws).stat().st_mode & 0o777) == "0o600"
    assert latest_grades(ws, ids[:3]) == _expected(ws, ids[:3])  # only the sessions asked for
    assert latest_grades(ws, []) == {}


def test_new_grades_are_read_from_where_the_last_use_stopped(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _grade(ws, "S1", "needs_revision")
    _grade(ws, "S2", "satisfied", 1.0)
    assert latest_grades(ws, ["S1", "S2"])["S1"]["result"] == "needs_revision"
    size = ws.grades_file.stat().st_size
    assert _offset(ws) == size
    before = index_path(ws).stat().st_mtime_ns
    assert latest_grades(ws, ["S1"])["S1"]["result"] == "needs_revision"
    assert index_path(ws).stat().st_mtime_ns == before  # nothing new: the index is not written
    _grade(ws, "S1", "satisfied", 1.0)  # a re-grade: the latest wins, in append order
    seen: list[int] = []
    real = grade_index._new_records

    def spy(f: BinaryIO, offset: int) -> Iterator[tuple[dict[str, str], int]]:
        seen.append(offset)
        return real(f, offset)

    monkeypatch.setattr(grade_index, "_new_records", spy)
    got = latest_grades(ws, ["S1", "S2"])
    assert seen == [size]  # the tail only, not the whole file
    assert (got["S1"]["result"], got["S1"]["score"], got["S2"]["result"]) == ("satisfied", 1.0, "satisfied")
    assert got == _expected(ws, ["S1", "S2"])


def test_a_line_being_appended_waits_for_its_newline(ws: Workspace) -> None:
    _grade(ws, "S1", "failed")
    latest_grades(ws, ["S1"])
    line = json.dumps({"v": 1, "ts": "2026-12-01T00:00:00.000Z", "session_id": "S1", "result": "satisfied"})
    with open(ws.grades_file, "ab") as f:
        f.write(line[:20].encode())
    assert latest_grades(ws, ["S1"])["S1"]["result"] == "failed"
    with open(ws.grades_file, "ab") as f:
        f.write(line[20:].encode() + b"\n")
    assert latest_grades(ws, ["S1"])["S1"]["result"] == "satisfied"


def test_a_replaced_or_rewritten_file_is_read_again(ws: Workspace) -> None:
    for sid in ("S1", "S2", "S3"):
        _grade(ws, sid, "failed")
    assert set(latest_grades(ws, ["S1", "S2", "S3"])) == {"S1", "S2", "S3"}
    lines = ws.grades_file.read_bytes().splitlines(keepends=True)
    tmp = ws.grades_file.with_suffix(".new")
    tmp.write_bytes(lines[2])  # only S3's grade: a person pruned the file (new inode)
    os.replace(tmp, ws.grades_file)
    assert set(latest_grades(ws, ["S1", "S2", "S3"])) == {"S3"}
    with open(ws.grades_file, "r+b") as f:  # rewritten in place, longer, same inode
        f.truncate(0)
        f.write(lines[0] + lines[1] + b'{"session_id": "S4", "result": "partial"}\n')
    assert latest_grades(ws, ["S1", "S2", "S3", "S4"]) == _expected(ws, ["S1", "S2", "S3", "S4"])
    assert set(latest_grades(ws, ["S1", "S2", "S3", "S4"])) == {"S1", "S2", "S4"}


def test_odd_lines_are_read_as_the_full_read_reads_them(ws: Workspace) -> None:
    ws.grades_dir.mkdir(parents=True, exist_ok=True)
    ws.grades_file.write_bytes(
        b'{"session_id": "S1", "result": "needs_revision", "score": NaN, "ts": "2026-12-01T00:00:00Z"}\n'
        b"not json\n"
        b'{"session_id": 7, "result": "satisfied"}\n'
        b'["S2"]\n'
        b'{"session_id": "", "result": "satisfied"}\n'
        b'{"session_id": "S2", "result": "satisfied", "criteria": [{"id": "c"}], "extra": 1}\n')
    got = latest_grades(ws, ["S1", "S2", "7"])
    assert set(got) == {"S1", "S2"}
    assert math.isnan(got["S1"]["score"]) and got["S1"]["result"] == "needs_revision"
    assert got["S2"] == {"session_id": "S2", "result": "satisfied"}  # the listing fields only


def test_a_broken_index_falls_back_to_the_scan(ws: Workspace) -> None:
    _grade(ws, "S1", "satisfied", 1.0)
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    index_path(ws).write_bytes(b"not a database" * 200)
    assert latest_grades(ws, ["S1"]) == _expected(ws, ["S1"]) != {}
    index_path(ws).unlink()
    with closing(sqlite3.connect(index_path(ws))) as db:  # an index of another version: rebuilt
        db.executescript("CREATE TABLE latest (x); PRAGMA user_version = 99;")
    assert latest_grades(ws, ["S1"]) == _expected(ws, ["S1"])
    with closing(sqlite3.connect(index_path(ws))) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == grade_index.INDEX_VERSION


def test_no_grades_file_means_no_grades_and_no_index(ws: Workspace) -> None:
    assert latest_grades(ws, ["S1"]) == {}
    assert not index_path(ws).exists()


def test_the_listing_shows_each_new_grade(ws: Workspace) -> None:
    from typer.testing import CliRunner

    from dreamcli.cli.app import app
    from dreamcli.sessions.writer import SessionWriter

    w = SessionWriter(ws)
    w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
    w.end("completed")

    def listed() -> tuple[object, object]:
        r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "list", "--json"])
        assert r.exit_code == 0, r.output
        row = json.loads(r.stdout)["sessions"][0]
        return row["outcome"], row["score"]

    assert listed() == (None, None)
    _grade(ws, w.session_id, "needs_revision", 0.25)
    assert listed() == ("needs_revision", 0.25)
    assert index_path(ws).exists()
    _grade(ws, w.session_id, "satisfied", 1.0)  # graded again after the index was made
    assert listed() == ("satisfied", 1.0)
