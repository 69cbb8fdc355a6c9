"""A dream whose proposal.json (or dream.json) is valid JSON with wrong types (issue 21): the listings
(`playbooks diff`, `--json`, `--html`, `playbooks list`, `approve --all`) leave it out with one warning
line naming the dream, the file and the field, and exit 0; a command that names it exits 2 and
writes nothing. Never an internal error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dreamcli.playbooks.proposals import Dream, load_dream
from dreamcli.playbooks.store import playbook_path
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, cli, decisions, op, write_dream, write_playbook

GOOD = "01JD3Z0000000000000000G00D"
BAD = "01JD3Z0000000000000000BAD1"


def _seed(ws: Workspace, *, good: bool = True) -> Path:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=1)
    if good:
        write_dream(ws, GOOD, "legal", [op("pb-good0001", text="Cite clauses by section number.")])
    return write_dream(ws, BAD, "legal", [op("pb-bad00001", text="Read the whole contract first.")])


def _corrupt(dream_dir: Path, change: Any, file: str = "proposal.json") -> None:
    path = dream_dir / file
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data)))


def _entry_id_5(data: dict[str, Any]) -> dict[str, Any]:
    data["operations"][0]["entry_id"] = 5
    return data


def _one_line(text: str, *needles: str) -> str:
    lines = [line for line in text.splitlines() if all(n in line for n in needles)]
    assert len(lines) == 1, text
    return lines[0]


def test_diff_lists_the_readable_dreams_and_names_the_unreadable_one(ws: Workspace) -> None:
    _corrupt(_seed(ws), _entry_id_5)
    r = cli(ws, "playbooks", "diff")
    assert r.exit_code == 0, r.output
    assert "pb-good0001" in r.stdout and "pb-bad00001" not in r.stdout
    line = _one_line(r.stderr, BAD)
    assert line.startswith("warning: ") and "cannot be read" in line
    assert f"dreams/{BAD}/proposal.json: operations.0.entry_id: must be a string (found 5)" in line

    r = cli(ws, "playbooks", "diff", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [d["dream_id"] for d in data["dreams"]] == [GOOD]
    assert data["unreadable"] == [{"dream_id": BAD, "file": f"dreams/{BAD}/proposal.json",
                                   "problem": "operations.0.entry_id: must be a string (found 5)"}]
    assert len(data["problems"]) == 1 and BAD in data["problems"][0]


def test_naming_the_unreadable_dream_is_exit_2_and_writes_nothing(ws: Workspace) -> None:
    _corrupt(_seed(ws), _entry_id_5)
    live = playbook_path(ws, "legal").read_text()
    for args in (("playbooks", "diff", BAD), ("playbooks", "diff", BAD, "--json"),
                 ("playbooks", "approve", BAD, "--all", "--yes"),
                 ("playbooks", "approve", BAD, "--entry", "pb-bad00001", "--yes"),
                 ("playbooks", "reject", BAD, "--all", "--reason", "no", "--yes"),
                 ("playbooks", "edit", BAD, "pb-bad00001", "--text", "Other.")):
        r = cli(ws, *args)
        assert r.exit_code == 2, (args, r.output)
        assert "internal error" not in r.output
        line = _one_line(r.stderr, f"dreams/{BAD}/proposal.json")
        assert line == f"error: dreams/{BAD}/proposal.json: operations.0.entry_id: must be a string (found 5)"
    assert playbook_path(ws, "legal").read_text() == live
    assert decisions(ws, BAD) == [] and audit(ws) == []


def test_approve_all_approves_the_readable_dreams_and_leaves_the_other(ws: Workspace) -> None:
    _corrupt(_seed(ws), _entry_id_5)
    r = cli(ws, "playbooks", "approve", "--all", "--yes", "--json")
    assert r.exit_code == 0, r.output
    assert [res["dream_id"] for res in json.loads(r.stdout)["results"]] == [GOOD]
    assert BAD in _one_line(r.stderr, "cannot be read")
    assert "Cite clauses by section number." in playbook_path(ws, "legal").read_text()
    assert decisions(ws, BAD) == []


def test_when_every_pending_dream_is_unreadable(ws: Workspace) -> None:
    _corrupt(_seed(ws, good=False), _entry_id_5)
    r = cli(ws, "playbooks", "diff")
    assert r.exit_code == 0, r.output
    assert BAD in _one_line(r.stderr, "cannot be read and is left out")
    # not "no pending proposals" alone: that would hide the dream nobody can review
    left_out = "1 dream was left out because it cannot be read (warning above)"
    assert f"nothing to review: no pending proposals; {left_out}" in r.stderr
    r = cli(ws, "playbooks", "approve", "--all", "--yes")
    assert r.exit_code == 2 and f"error: no pending proposals; {left_out}" in r.stderr
    r = cli(ws, "playbooks", "approve", "--entry", "pb-bad00001", "--yes")
    assert r.exit_code == 2 and f"error: no pending proposal has entry pb-bad00001; {left_out}" in r.stderr


@pytest.mark.parametrize(("change", "field", "problem"), [
    (lambda d: {**d, "playbook": 5}, "playbook", "must be a string (found 5)"),
    (lambda d: {**d, "dream_id": ["x"]}, "dream_id", "must be a string (found a list)"),
    (lambda d: {**d, "operations": "none"}, "operations", "required: a list of operations"),
    (lambda d: {**d, "operations": [3]}, "operations.0", "must be an object (found 3)"),
    (lambda d: {**d, "budget": "big"}, "budget", 'must be an object (found "big")'),
    (lambda d: {**d, "v": "one"}, "v", 'must be an integer (found "one")'),
    (lambda d: {**d, "operations": [{**d["operations"][0], "support": {"sessions": "3x"}}]},
     "operations.0.support.sessions", 'must be an integer (found "3x")'),
    (lambda d: {**d, "operations": [{**d["operations"][0], "target": "disk"}]},
     "operations.0.target", "must be 'playbook' or 'memory' (found \"disk\")"),
    (lambda d: {**d, "operations": [{**d["operations"][0], "evidence": {"a": 1}}]},
     "operations.0.evidence", "must be a list (found an object)"),
])
def test_each_wrong_type_is_named_with_its_field(ws: Workspace, change: Any, field: str, problem: str) -> None:
    _corrupt(_seed(ws), change)
    r = cli(ws, "playbooks", "diff", "--json")
    assert r.exit_code == 0, r.output
    (bad,) = json.loads(r.stdout)["unreadable"]
    assert bad == {"dream_id": BAD, "file": f"dreams/{BAD}/proposal.json", "problem": f"{field}: {problem}"}
    r = cli(ws, "playbooks", "approve", BAD, "--all", "--yes")
    assert r.exit_code == 2 and f"{field}: {problem}" in r.stderr


def test_invalid_json_names_its_line(ws: Workspace) -> None:
    (_seed(ws) / "proposal.json").write_text('{\n  "v": 1,\n  "dream_id": oops\n}')
    r = cli(ws, "playbooks", "diff", "--json")
    assert r.exit_code == 0, r.output
    (bad,) = json.loads(r.stdout)["unreadable"]
    assert bad["file"] == f"dreams/{BAD}/proposal.json" and bad["problem"].startswith("line 3: invalid JSON: ")


def test_the_review_page_and_playbooks_list_leave_it_out_and_say_so(ws: Workspace, tmp_path: Path) -> None:
    _corrupt(_seed(ws), _entry_id_5)
    page = tmp_path / "review.html"
    r = cli(ws, "playbooks", "diff", "--html", str(page))
    assert r.exit_code == 0, r.output
    html = page.read_text()
    assert GOOD in html and BAD not in html
    assert BAD in _one_line(r.stderr, "cannot be read")
    r = cli(ws, "playbooks", "list", "--json")
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.stdout)["playbooks"]
    assert row["pending_dreams"] == [GOOD]
    assert BAD in _one_line(r.stderr, "cannot be read")


def test_a_pilot_of_the_unreadable_dream_is_exit_2(ws: Workspace, tmp_path: Path) -> None:
    _corrupt(_seed(ws), _entry_id_5)
    task = tmp_path / "task.yaml"
    task.write_text("name: t\nprompt: hi\n")
    r = cli(ws, "pilot", str(task), "--proposal", BAD, "--yes")
    assert r.exit_code == 2 and "internal error" not in r.output
    assert f"dreams/{BAD}/proposal.json: operations.0.entry_id" in r.stderr


def test_dream_json_of_the_wrong_shape(ws: Workspace) -> None:
    d = _seed(ws)
    _corrupt(d, lambda info: {**info, "status": 5, "superseded_by": 7}, "dream.json")
    dream: Dream = load_dream(ws, BAD)
    assert dream.status == "pending" and dream.superseded_by is None  # an unknown status reads as computed
    r = cli(ws, "playbooks", "diff", BAD, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["dreams"][0]["status"] == "pending"
    (d / "dream.json").write_text("[1, 2]")
    r = cli(ws, "playbooks", "diff", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["unreadable"] == [{"dream_id": BAD, "file": f"dreams/{BAD}/dream.json",
                                                   "problem": "must be a JSON object"}]
    r = cli(ws, "playbooks", "approve", BAD, "--all", "--yes")
    assert r.exit_code == 2 and f"error: dreams/{BAD}/dream.json: must be a JSON object" in r.stderr


def test_playbooks_list_json_carries_unreadable_as_diff_does(ws: Workspace) -> None:
    (_seed(ws) / "proposal.json").write_text('{"v": 1, "operations": "oops"}')
    bad = {"dream_id": BAD, "file": f"dreams/{BAD}/proposal.json",
           "problem": "operations: required: a list of operations"}
    listed = cli(ws, "playbooks", "list", "--json")
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.stdout)
    assert data["unreadable"] == [bad]
    assert json.loads(cli(ws, "playbooks", "diff", "--json").stdout)["unreadable"] == [bad]
    (problem,) = data["problems"]  # kept for compatibility: the warning line's text
    assert problem == f"dream {BAD} cannot be read and is left out: dreams/{BAD}/proposal.json: {bad['problem']}"
    assert data["playbooks"][0]["pending_dreams"] == [GOOD]
