"""`sessions list` leaves `dreamcli pilot` trials out, as `grade` and `dream` do: a note on stderr counts them,
`--json` names them in `skipped_pilot`, and `--include-pilot` lists them, marked in the table and with their
`pilot` in the JSON. The session index keeps the tag in its own column; an index built before it had one is
built again, not misread."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.summary import SessionFilter
from dreamcli.sessions.writer import SessionWriter
from dreamcli.store.index import index_path, rebuild
from dreamcli.store.index_schema import INDEX_VERSION
from dreamcli.ui import console
from dreamcli.workspace.home import Workspace
from tests.support.listing import reference_listing, streamed_listing

NOTE = "left out 3 pilot trials (--include-pilot lists them)"


def _session(ws: Workspace, pilot: Any = None, *, parent: str | None = None, outcome: str = "satisfied") -> str:
    w = SessionWriter(ws)
    w.start(task={"name": "contract-review", "prompt": "p"}, model="m", workdir=None, parent_session_id=parent,
            **({"pilot": pilot} if pilot is not None else {}))
    w.end("completed", totals={"turns": 3, "input_tokens": 100, "output_tokens": 20, "cost_usd": 0.01},
          outcome={"result": outcome, "score": 0.62})
    w.close()
    return w.session_id


def _workspace(ws: Workspace, *, indexed: bool) -> tuple[list[str], list[str], str]:
    """Two real runs around three trials (newest first: real, trials, real), the first trial with a
    sub-agent that carries its tags; (real ids, trial lead ids, the sub-agent's id), newest first."""
    old = _session(ws)
    lead = _session(ws, {"id": "pl-1", "arm": "baseline", "trial": 0, "task": "t", "dream_id": "d"},
                    outcome="max_iterations_reached")
    child = _session(ws, {"id": "pl-1", "arm": "baseline", "trial": 0}, parent=lead)
    cand = _session(ws, {"id": "pl-1", "arm": "candidate", "trial": 0})
    odd = _session(ws, True)  # a pilot tag of another shape: still a trial, as `grade` and `dream` read it
    new = _session(ws)
    if indexed:
        rebuild(ws)
    else:
        index_path(ws).unlink(missing_ok=True)
    return [new, old], [odd, cand, lead], child


def _list(ws: Workspace, *args: str) -> Any:
    console._cache.clear()
    r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "list", *args],
                           env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    return r


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_the_table_leaves_trials_out_and_says_how_many(ws: Workspace, indexed: bool) -> None:
    real, _, _ = _workspace(ws, indexed=indexed)
    r = _list(ws)
    words = r.stdout.split()
    assert [w for w in words if w.startswith("01")] == real
    assert "trial" not in words
    assert r.stderr.strip() == NOTE
    assert index_path(ws).exists() == indexed  # the listing read what the test says


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_include_pilot_lists_trials_marked_within_80_columns(ws: Workspace, indexed: bool) -> None:
    real, trials, child = _workspace(ws, indexed=indexed)
    r = _list(ws, "--include-pilot")
    assert [w for w in r.stdout.split() if w.startswith("01")] == [real[0], *trials, child, real[1]]
    assert all(len(line) <= 80 for line in r.stdout.splitlines()), r.stdout
    rows = _rows(r.stdout)
    assert [sid for sid, words in rows.items() if "trial" in words] == [*trials, child], r.stdout
    assert ["candidate" in rows[trials[1]], "baseline" in rows[trials[2]], "baseline" in rows[child]] == [True] * 3
    assert not {"baseline", "candidate"} & set(rows[trials[0]]), r.stdout  # the odd tag names no arm
    assert "left out" not in r.stderr


def _rows(table: str) -> dict[str, list[str]]:
    """The words of each row of the table (its lines from one id to the next), by session id."""
    rows: dict[str, list[str]] = {}
    words: list[str] = []
    for line in table.splitlines()[1:]:
        first = line.replace("└", "").split()[:1]
        if first and first[0].startswith("01"):
            words = rows.setdefault(first[0], [])
        words.extend(line.split())
    return rows


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_json_leaves_trials_out_and_names_them(ws: Workspace, indexed: bool) -> None:
    real, trials, _ = _workspace(ws, indexed=indexed)
    r = _list(ws, "--json")
    data = json.loads(r.stdout)
    assert [s["session_id"] for s in data["sessions"]] == real
    assert [s["pilot"] for s in data["sessions"]] == [None, None]
    assert data["skipped_pilot"] == trials  # the leads: a trial's sub-agent goes with it
    assert r.stderr.strip() == NOTE


@pytest.mark.parametrize("indexed", [True, False], ids=["index", "scan"])
def test_json_include_pilot_gives_each_row_its_pilot(ws: Workspace, indexed: bool) -> None:
    real, trials, child = _workspace(ws, indexed=indexed)
    data = json.loads(_list(ws, "--json", "--include-pilot").stdout)
    pilots = {s["session_id"]: s["pilot"] for s in data["sessions"]}
    assert pilots == {real[0]: None, real[1]: None,
                      trials[0]: {"id": None, "arm": None, "trial": None},
                      trials[1]: {"id": "pl-1", "arm": "candidate", "trial": 0},
                      trials[2]: {"id": "pl-1", "arm": "baseline", "trial": 0},
                      child: {"id": "pl-1", "arm": "baseline", "trial": 0}}
    assert data["skipped_pilot"] == []


@pytest.mark.parametrize("limit", [1, 2, None])
@pytest.mark.parametrize("include_pilot", [False, True])
def test_the_streamed_listing_matches_the_summaries(ws: Workspace, limit: int | None, include_pilot: bool) -> None:
    """The index's JSON, written from stored heads, is what the summaries give, trials and counts included; a
    limit counts only the trials passed on the way to it (both paths read as far: none before the newest)."""
    _workspace(ws, indexed=True)
    for kw in (dict(), dict(include_children=False)):
        flt = dict(kw, include_pilot=include_pilot)
        streamed = streamed_listing(ws, SessionFilter(**flt), limit)  # type: ignore[arg-type]
        assert streamed == reference_listing(ws, SessionFilter(**flt), limit), flt  # type: ignore[arg-type]
        left_out = 0 if include_pilot or limit == 1 else 3
        assert (len(json.loads(streamed)["skipped_pilot"]), flt) == (left_out, flt)


def test_an_index_built_before_the_pilot_column_is_built_again(ws: Workspace) -> None:
    real, trials, _ = _workspace(ws, indexed=True)
    with sqlite3.connect(index_path(ws)) as db:  # what the previous version left: no pilot column, version 6
        db.execute("ALTER TABLE sessions DROP COLUMN pilot")
        db.execute("UPDATE sessions SET head = replace(head, ',\n      \"pilot\": null', '')")
        db.execute("PRAGMA user_version = 6")
    data = json.loads(_list(ws, "--json").stdout)
    assert ([s["session_id"] for s in data["sessions"]], data["skipped_pilot"]) == (real, trials)
    assert [w for w in _list(ws).stdout.split() if w.startswith("01")] == real
    with sqlite3.connect(index_path(ws)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == INDEX_VERSION
        assert db.execute("SELECT COUNT(*) FROM sessions WHERE pilot IS NOT NULL").fetchone()[0] == 4
