"""Odd files met by the review commands: a memory path that is a directory, hostile front matter, a
front-matter name other than the file's, an empty edit decision, an unreadable history version and a
`--since` no date holds. Each is a one-line error (or is left out), never an internal error or a half
applied approval."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.errors import InputError, UsageError
from dreamcli.playbooks.format import parse_playbook
from dreamcli.playbooks.history import history
from dreamcli.timeutil import parse_since
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, decisions, op, write_dream, write_playbook

DREAM = "01JD3Z0000000000000000INP1"


def _run(ws: Workspace, *args: str) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), *args], env={"DREAMCLI_ACTOR": "tester"})


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- 2: a memory file that is a directory -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["create", "merge"])
def test_a_memory_target_that_is_a_directory_stops_the_approval_before_anything_is_written(
        ws: Workspace, kind: str) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc.")], version=1)
    target = ws.memory_store("default") / "memories" / "medical" / "med-list-is-stale.md"
    target.mkdir(parents=True)
    write_dream(ws, DREAM, "legal", [
        op("pb-new00001", text="A lesson."),
        op("mem-0000001a", kind, target="memory", path="/memories/medical/med-list-is-stale.md",
           text="Fresh list.", merged_paths=["/memories/medical/old.md"] if kind == "merge" else []),
    ], base_version=1)
    before = _tree(ws.playbooks_dir)
    r = _run(ws, "playbooks", "approve", DREAM, "--all", "--yes")
    assert r.exit_code == 2, r.output
    assert "internal error" not in r.output and "is a directory" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert _tree(ws.playbooks_dir) == before
    assert decisions(ws, DREAM) == [] and audit(ws) == []
    assert target.is_dir()


def test_a_memory_target_under_a_file_is_refused_before_the_commit(ws: Workspace) -> None:
    """(Planning reads such a path first: apply._read; the check covers a folder turned into a file since.)"""
    from dreamcli.playbooks.apply import MemoryChange, check_memory_targets

    mem = ws.memory_store("default") / "memories"
    mem.mkdir(parents=True, exist_ok=True)
    (mem / "medical").write_text("a file where a folder belongs")
    (mem / "ok.md").write_text("old")
    fine = [MemoryChange(mem / "ok.md", "old", "new", root=mem),
            MemoryChange(mem / "new" / "a.md", None, "a", root=mem),
            MemoryChange(mem / "gone.md", None, None, root=mem)]
    check_memory_targets(fine)
    with pytest.raises(InputError, match=r"medical/notes\.md.*medical is not a directory"):
        check_memory_targets([*fine, MemoryChange(mem / "medical" / "notes.md", None, "notes", root=mem)])


def test_a_memory_path_under_a_file_is_a_one_line_error_through_approve(ws: Workspace) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc.")], version=1)
    mem = ws.memory_store("default") / "memories"
    mem.mkdir(parents=True)
    (mem / "medical").write_text("a file where a folder belongs")
    write_dream(ws, DREAM, "legal", [
        op("pb-new00001", text="A lesson."),
        op("mem-0000001b", "create", target="memory", path="/memories/medical/notes.md", text="Notes."),
    ], base_version=1)
    before = _tree(ws.playbooks_dir)
    r = _run(ws, "playbooks", "approve", DREAM, "--all", "--yes")
    assert r.exit_code == 2, r.output
    assert "internal error" not in r.output and "not a directory" in r.output
    assert _tree(ws.playbooks_dir) == before and audit(ws) == []


# --- 3: front matter without limits ---------------------------------------------------------------------


def _front(scope: str) -> str:
    return f"---\nname: legal\nversion: 1\nscope: {scope}\n---\n\n# legal\n"


@pytest.mark.parametrize(("scope", "reason"), [
    ("[" * 3000 + "]" * 3000, "nested deeper than 64"),
    ("&a {self: *a}", "nested deeper than 64"),
    ("[" * 70 + "]" * 70, "nested deeper than 64"),
])
def test_deep_or_recursive_front_matter_is_an_input_error(scope: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as info:
        parse_playbook(_front(scope), file="playbooks/legal.md")
    assert str(info.value).startswith("playbooks/legal.md:")


def test_a_front_matter_alias_bomb_is_refused_quickly() -> None:
    bomb = ("\n  a: &a [x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
            "  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
            "  tasks: [*h, *h, *h, *h, *h, *h, *h, *h, *h]")
    with pytest.raises(InputError, match="too many values") as info:
        parse_playbook(_front(bomb), file="playbooks/legal.md")
    assert info.value.line is not None and info.value.line >= 4


def test_hostile_front_matter_through_the_commands(ws: Workspace) -> None:
    (ws.playbooks_dir / "legal.md").write_text(_front("[" * 3000 + "]" * 3000))
    (ws.playbook_history_dir / "legal").mkdir(parents=True)
    (ws.playbook_history_dir / "legal" / "v1.md").write_text(_front("&a {self: *a}"))
    for args in (["playbooks", "show", "legal"], ["playbooks", "lint", "legal"]):
        r = _run(ws, *args)
        assert r.exit_code == 2, r.output
        assert "internal error" not in r.output and "playbooks/legal.md:" in r.output
    for args in (["playbooks", "list"], ["playbooks", "history", "legal"]):
        r = _run(ws, *args)
        assert "internal error" not in r.output, r.output


def test_front_matter_keeps_timestamps_as_text_and_reports_lines() -> None:
    pb = parse_playbook("---\nname: legal\nversion: 2\nupdated: 2026-11-20T10:00:00Z\n---\n")
    assert pb.updated == "2026-11-20T10:00:00Z"
    with pytest.raises(InputError, match="invalid YAML in front matter") as info:
        parse_playbook("---\nname: legal\nversion: [1\n---\n", file="playbooks/legal.md")
    assert info.value.line is not None and info.value.line >= 3


# --- 4: a front-matter name that is not the file's ------------------------------------------------------


def test_a_front_matter_name_other_than_the_file_name_is_refused_with_exit_2(ws: Workspace) -> None:
    text = write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc.")], version=1)
    (ws.playbooks_dir / "legal.md").write_text(text.replace("name: legal", "name: other"))
    write_dream(ws, DREAM, "legal", [op("pb-new00001", text="A lesson.")], base_version=1)
    r = _run(ws, "playbooks", "approve", DREAM, "--all", "--yes")
    assert r.exit_code == 2, r.output
    assert "legal.md:2: name:" in r.output and "file name" in r.output
    assert "changed while" not in r.output
    assert not (ws.playbooks_dir / "other.md").exists() and audit(ws) == []


# --- 6: small ones --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1000000d", "99999999999d", "999999999999999999999w", "9" * 5000 + "d"])
def test_since_further_back_than_dates_go_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match="--since"):
        parse_since(value, now=datetime(2026, 12, 5, tzinfo=UTC))


def test_since_overflow_through_the_command(ws: Workspace) -> None:
    r = _run(ws, "playbooks", "audit", "--since", "1000000d")
    assert r.exit_code == 2, r.output
    assert "internal error" not in r.output


@pytest.mark.parametrize("text", ["", "   \n"])
def test_an_empty_edit_decision_is_ignored(ws: Workspace, text: str) -> None:
    write_dream(ws, DREAM, "legal", [op("pb-new00001", text="A lesson."), op("pb-new00002", text="Another.")],
                base_version=0)
    path = ws.dreams_dir / DREAM / "decisions.jsonl"
    path.write_text(json.dumps({"v": 1, "action": "edit", "entry_id": "pb-new00001", "text": text}) + "\n")
    r = _run(ws, "playbooks", "approve", DREAM, "--all", "--yes")
    assert r.exit_code == 0, r.output
    assert "A lesson." in (ws.playbooks_dir / "legal.md").read_text()


def test_one_unreadable_history_version_is_listed_as_such(ws: Workspace) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc.")], version=1)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc.")], version=2)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc.")], version=3)
    (ws.playbook_history_dir / "legal" / "v2.md").write_bytes(b"---\nname: legal\xff\n")
    (ws.playbook_history_dir / "legal" / "v1.md").unlink()
    (ws.playbook_history_dir / "legal" / "v1.md").mkdir()
    versions = history(ws, "legal")
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[0].unreadable and versions[1].unreadable and not versions[2].unreadable
    assert versions[2].live
    r = _run(ws, "playbooks", "history", "legal", "--json")
    assert r.exit_code == 0, r.output
    assert [v["unreadable"] is not None for v in json.loads(r.stdout)["versions"]] == [True, True, False]
