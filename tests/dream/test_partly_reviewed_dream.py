"""A candidate whose earlier proposal sits in a partly reviewed dream is judged by the decision on its own
entry there (acceptance defect: after 3 of 13 entries were approved, `dream --all` said "8 rejected before"
though nobody had rejected anything, and held them until their support doubled). Undecided: still awaiting
review, not proposed again; rejected: held as before; approved: live, so its counts are updated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline


def _cli(home: Path, *args: str) -> Any:
    r = CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def _adds(data: dict[str, Any]) -> list[str]:
    return [op["entry_id"] for op in data["operations"] if op["op"] == "add" and op["target"] == "playbook"]


def _entries(*ids: str) -> list[str]:
    return [x for i in ids for x in ("--entry", i)]


def test_undecided_entries_of_a_partly_approved_dream_are_awaiting_review_not_rejected(demo: Path) -> None:
    first = json.loads(_cli(demo, "dream", "--offline", "--json").stdout)
    dream_id, adds = first["dream_id"], _adds(first)
    assert len(adds) >= 8
    approved, rejected, undecided = adds[:3], adds[3:5], adds[5:]
    _cli(demo, "playbooks", "approve", dream_id, *_entries(*approved), "--yes")
    _cli(demo, "playbooks", "reject", dream_id, *_entries(*rejected), "--reason", "no", "--yes")
    status = json.loads((demo / "dreams" / dream_id / "dream.json").read_text())["status"]
    assert status == "partially_approved"

    again = json.loads(_cli(demo, "dream", "--offline", "--all", "--json").stdout)
    assert again["stats"]["not_proposed"] == {"awaiting_review": len(undecided), "rejected_before": 2}
    assert not set(_adds(again)) & set(adds) and len(_adds(again)) == 0  # nothing proposed twice
    counted = {op["entry_id"] for op in again["operations"] if op["op"] == "counts"}
    assert set(approved) <= counted  # the approved entries are live: their counts are updated
    report = Path(again["report_path"]).read_text()
    total = len(undecided) + 2
    line = f"{total} patterns recurred but were not proposed ({len(undecided)} awaiting review, 2 rejected before)."
    assert line in report.splitlines()
    assert report.count(f"awaiting review in dream {dream_id}") == len(undecided)

    text = _cli(demo, "dream", "--offline", "--all")
    assert line in " ".join(text.stderr.split())  # wrapped at the terminal's width


def test_one_rejected_entry_leaves_the_others_of_its_dream_awaiting_review(demo: Path) -> None:
    first = json.loads(_cli(demo, "dream", "--offline", "--json").stdout)
    dream_id, adds = first["dream_id"], _adds(first)
    _cli(demo, "playbooks", "reject", dream_id, *_entries(adds[0]), "--reason", "no", "--yes")
    again = json.loads(_cli(demo, "dream", "--offline", "--all", "--json").stdout)
    assert again["stats"]["not_proposed"] == {"awaiting_review": len(adds) - 1, "rejected_before": 1}
