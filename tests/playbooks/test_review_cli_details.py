"""Details of the review commands a tester found: `approve`/`reject --all --json` carry the dreams left
out as unreadable; `revert` and `show --version` take `v2` as history lists it; `show` of a playbook
that only pending dreams would create says so; a dream id prefix is found by the rule session ids are."""

from __future__ import annotations

import json

import pytest

from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream, write_playbook

GOOD = "01JD3Z0000000000000000G00D"
BAD = "01JD3Z0000000000000000BAD1"


def _good_and_bad(ws: Workspace) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=1)
    write_dream(ws, GOOD, "legal", [op("pb-good0001", text="Cite clauses by section number.")])
    bad = write_dream(ws, BAD, "legal", [op("pb-bad00001", text="Read the whole contract first.")])
    (bad / "proposal.json").write_text('{"v": 1, "operations": [')


@pytest.mark.parametrize("command", [("approve",), ("reject", "--reason", "off policy")])
def test_decide_all_json_names_the_unreadable_dream(ws: Workspace, command: tuple[str, ...]) -> None:
    _good_and_bad(ws)
    r = cli(ws, "playbooks", *command, "--all", "--yes", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [res["dream_id"] for res in data["results"]] == [GOOD]
    (bad,) = data["unreadable"]
    assert (bad["dream_id"], bad["file"]) == (BAD, f"dreams/{BAD}/proposal.json")
    assert bad["problem"].startswith("line 1: invalid JSON")
    assert data["problems"] == [f"dream {BAD} cannot be read and is left out: dreams/{BAD}/proposal.json: "
                                f"{bad['problem']}"]
    assert f"dream {BAD} cannot be read" in r.stderr


def test_revert_and_show_take_a_version_as_history_lists_it(ws: Workspace) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=1)
    assert "pb-aaaaaa01" in cli(ws, "playbooks", "show", "legal", "--version", "v1").stdout
    r = cli(ws, "playbooks", "revert", "legal", "v0", "--yes", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["to_version"] == 0
    r = cli(ws, "playbooks", "revert", "legal", "V1", "--yes", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["version_after"] == 3, r.output
    for bad in ("two", "v", "v1.5", "1v"):
        r = cli(ws, "playbooks", "revert", "legal", bad, "--yes")
        assert r.exit_code == 2
        assert r.stderr == (f"error: VERSION {bad!r} is not a version: give a number such as 2 or v2 "
                            "(see: dreamcli playbooks history legal)\n")


def test_show_of_a_playbook_only_pending_dreams_would_create(ws: Workspace) -> None:
    write_dream(ws, GOOD, "fresh", [op("pb-good0001"), op("pb-good0002", text="Another lesson.")], base_version=0)
    for command in ("show", "lint", "history"):
        r = cli(ws, "playbooks", command, "fresh")
        assert r.exit_code == 2
        assert r.stderr == ("error: playbook 'fresh' has no approved version yet; 2 entries are pending in 1 dream "
                            f"(review them: dreamcli --home {ws.root} playbooks diff --playbook fresh)\n"), command
    assert (f"no playbook 'nope' (see: dreamcli --home {ws.root} playbooks list)"
            in cli(ws, "playbooks", "show", "nope").stderr)


def test_a_dream_is_found_by_any_unique_prefix(ws: Workspace) -> None:
    write_dream(ws, GOOD, "legal", [op("pb-good0001")])
    r = cli(ws, "playbooks", "diff", "01j", "--json")
    assert r.exit_code == 0, r.output
    assert [d["dream_id"] for d in json.loads(r.stdout)["dreams"]] == [GOOD]
    write_dream(ws, BAD, "legal", [op("pb-bad00001")])
    r = cli(ws, "playbooks", "diff", "01J")
    assert r.exit_code == 2 and f"dream id '01J' is ambiguous ({BAD}, {GOOD})" in r.stderr
    r = cli(ws, "playbooks", "diff", "01K")
    assert r.exit_code == 2 and "no dream '01K'" in r.stderr
