"""One reader of `dreams/<id>/pilot.json` (dreamcli.playbooks.pilot_file) for the review page and the
approval gate (dreamcli.playbooks.lift): both read the same runs, and a lift that is not finite
numbers is no lift -- so `approval.require_lift` never passes on a NaN, an infinity or a string."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dreamcli.playbooks.lift import last_lifts, lift_problem
from dreamcli.playbooks.pilot_file import PILOT_FILE, number, read_pilot, read_runs


def _run(entries: Any, lift: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"pilot_id": "P1", "entries": entries, "ts": "2026-12-05T10:00:00Z", "lift": lift, **extra}


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / PILOT_FILE
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_number_is_a_finite_json_number() -> None:
    assert [number(v) for v in (1, 0.5, -2)] == [1.0, 0.5, -2.0]
    assert [number(v) for v in ("0.5", True, None, float("nan"), float("inf"), [1])] == [None] * 6


@pytest.mark.parametrize("doc", [
    {"v": 1, "dream_id": "D", "runs": [_run(["pb-a"], {"delta": 0.2, "ci95": [0.1, 0.3], "pairs": 8})]},
    [_run(["pb-a"], {"delta": 0.2, "ci95": [0.1, 0.3], "pairs": 8})],  # a bare list of runs
    _run(["pb-a"], {"delta": 0.2, "ci95": [0.1, 0.3], "pairs": 8}),  # one run
])
def test_both_readers_read_the_same_runs(tmp_path: Path, doc: Any) -> None:
    path = _write(tmp_path, doc)
    assert len(read_runs(path)) == 1
    page = read_pilot(path)
    assert page is not None and page["lift"] == {"delta": 0.2, "lo": 0.1, "hi": 0.3, "p_value": None, "pairs": 8}
    lift = last_lifts(tmp_path)["pb-a"]
    assert (lift.delta, lift.ci95, lift.pairs, lift.together_with) == (0.2, (0.1, 0.3), 8, 1)
    assert lift_problem(lift) is None


@pytest.mark.parametrize("ci", [[0.1, float("nan")], [0.1, float("inf")], ["0.1", "0.9"], [0.1], None, [True, 1]])
def test_a_lift_that_is_not_finite_numbers_never_passes_the_gate(tmp_path: Path, ci: Any) -> None:
    _write(tmp_path, {"runs": [_run(["pb-a"], {"delta": 0.5, "ci95": ci, "pairs": 10})]})
    assert last_lifts(tmp_path) == {}
    assert lift_problem(last_lifts(tmp_path).get("pb-a")) == "it has never been piloted"
    page = read_pilot(tmp_path / PILOT_FILE)
    assert page is None or (page["lift"] or {}).get("hi") is None


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2", '"runs"', '{"runs": {"a": 1}}', "\udcff"])
def test_an_unreadable_file_has_no_runs(tmp_path: Path, text: str) -> None:
    path = tmp_path / PILOT_FILE
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert read_runs(path) == [] and read_pilot(path) is None and last_lifts(tmp_path) == {}
    assert read_runs(tmp_path / "missing.json") == []


def test_wrong_types_inside_a_run_are_left_out(tmp_path: Path) -> None:
    _write(tmp_path, {"runs": [
        3, None, _run("pb-a", {"delta": 0.2, "ci95": [0.1, 0.3]}),  # entries as a string: no entries
        _run(["pb-b", 7], {"delta": 0.2, "ci95": [0.1, 0.3], "pairs": "x"}, ts=5,
             per_entry={"pb-b": {"lift": {"delta": "big", "ci95": [0, 1]}}}),
    ]})
    lifts = last_lifts(tmp_path)
    assert list(lifts) == ["pb-b"]
    b = lifts["pb-b"]  # its own lift is malformed: the joint lift counts; 7, pairs and ts of the wrong type dropped
    assert (b.leave_one_out, b.pairs, b.ts, b.together_with) == (False, 0, None, 1)


def test_the_review_page_shows_the_newest_run_that_scored_pairs(tmp_path: Path) -> None:
    """A later run that scored nothing (budget spent, every trial failed) does not replace the
    measured one on the page, as it does not for the approval gate."""
    measured = _run(["pb-a"], {"delta": 0.2, "ci95": [0.1, 0.3], "pairs": 8})
    empty = _run(["pb-a"], {"delta": 0.0, "ci95": [-1, 1], "pairs": 0})
    _write(tmp_path, {"runs": [measured, empty]})
    page = read_pilot(tmp_path / PILOT_FILE)
    assert page is not None and page["lift"] == {"delta": 0.2, "lo": 0.1, "hi": 0.3, "p_value": None, "pairs": 8}
    _write(tmp_path, {"runs": [empty]})
    only = read_pilot(tmp_path / PILOT_FILE)
    assert only is not None and only["lift"]["hi"] == 1  # nothing better to show: the empty run, as it is
