"""A reviewer name that cannot be recorded (bytes that are not UTF-8, control characters, line breaks) is
refused before anything is written; an intent left by an older version with such a name does not wedge
the workspace; entry text with bytes that are not UTF-8 is refused the same way."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.errors import UsageError
from dreamcli.playbooks import approval, journal
from dreamcli.playbooks.approval import approve
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, decisions, op, write_dream

DREAM = "01JD3Z0000000000000000ACT1"


def _run(ws: Workspace, *args: str, env: dict[str, str | None] | None = None) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), *args], env={"DREAMCLI_ACTOR": None, **(env or {})})


@pytest.fixture
def dream(ws: Workspace) -> None:
    write_dream(ws, DREAM, "legal", [op("pb-act00001", text="Lesson one."), op("pb-act00002", text="Lesson two.")],
                base_version=0)


def _nothing_written(ws: Workspace) -> None:
    assert not (ws.playbooks_dir / "legal.md").exists()
    assert not (ws.playbook_history_dir / "legal").exists() or not any((ws.playbook_history_dir / "legal").iterdir())
    assert decisions(ws, DREAM) == []
    assert audit(ws) == []


@pytest.mark.parametrize("how", ["option", "env"])
@pytest.mark.parametrize("name", ["Jos\udce9", "bob\udcff"])
def test_a_reviewer_name_with_bytes_that_are_not_utf8_is_refused_first(ws: Workspace, dream: None, how: str,
                                                                       name: str) -> None:
    args = ["playbooks", "approve", DREAM, "--entry", "pb-act00001", "--yes"]
    r = _run(ws, *args, "--reviewer", name) if how == "option" else _run(ws, *args, env={"DREAMCLI_ACTOR": name})
    assert r.exit_code == 2, r.output
    assert "internal error" not in r.output
    assert "not UTF-8" in r.output and len(r.output.strip().splitlines()) == 1
    assert ("--reviewer" if how == "option" else "DREAMCLI_ACTOR") in r.output
    _nothing_written(ws)
    assert _run(ws, "sessions", "list").exit_code == 0
    ok = _run(ws, *args, "--reviewer", "José")
    assert ok.exit_code == 0, ok.output
    assert [r["actor"] for r in audit(ws)] == ["José"]


@pytest.mark.parametrize("name", ["ana\nReviewer: mallory", "ana\r", "ana\x07", "ana\x1b[31m", "ana\u2028x"])
def test_control_characters_and_line_breaks_in_a_reviewer_name_are_refused(ws: Workspace, dream: None,
                                                                           name: str) -> None:
    r = _run(ws, "playbooks", "reject", DREAM, "--entry", "pb-act00001", "--reason", "no", "--yes",
             "--reviewer", name)
    assert r.exit_code == 2, r.output
    assert "control character" in r.output
    _nothing_written(ws)


def test_a_configured_reviewer_is_checked_too(ws: Workspace, dream: None) -> None:
    ws.config_path.write_text('playbooks:\n  reviewer: "ana\\x01"\n')
    r = _run(ws, "playbooks", "approve", DREAM, "--entry", "pb-act00001", "--yes")
    assert r.exit_code == 2, r.output
    assert "playbooks.reviewer" in r.output and "internal error" not in r.output
    _nothing_written(ws)


def test_the_review_page_refuses_such_a_name_too(ws: Workspace, dream: None, tmp_path: Any) -> None:
    r = _run(ws, "playbooks", "diff", "--html", str(tmp_path / "r.html"), "--reviewer", "bob\udcff")
    assert r.exit_code == 2, r.output
    assert "--reviewer" in r.output and "internal error" not in r.output
    r = _run(ws, "playbooks", "diff", "--html", str(tmp_path / "r.html"), env={"DREAMCLI_ACTOR": "bob\udcff"})
    assert r.exit_code == 2, r.output


def test_check_actor_and_current_actor() -> None:
    from dreamcli.audit import check_actor, current_actor

    assert check_actor("Ana María", "--reviewer") == "Ana María"
    assert current_actor("Zoë") == "Zoë"
    with pytest.raises(UsageError, match="not UTF-8"):
        current_actor("bob\udcff")
    with pytest.raises(UsageError, match="control character"):
        check_actor("a\tb", "x")


def test_non_utf8_entry_text_is_refused(ws: Workspace, dream: None) -> None:
    r = _run(ws, "playbooks", "edit", DREAM, "pb-act00001", "--text", "caf\udce9", "--reviewer", "ana")
    assert r.exit_code == 2, r.output
    assert "not UTF-8" in r.output and "internal error" not in r.output
    r = _run(ws, "playbooks", "approve", DREAM, "--entry", "pb-act00001", "--edit-text", "caf\udce9", "--yes",
             "--reviewer", "ana")
    assert r.exit_code == 2, r.output
    assert "not UTF-8" in r.output and "internal error" not in r.output
    r = _run(ws, "playbooks", "reject", DREAM, "--entry", "pb-act00001", "--reason", "caf\udce9", "--yes",
             "--reviewer", "ana")
    assert r.exit_code == 2, r.output
    _nothing_written(ws)


class Crash(Exception):
    pass


def test_an_intent_whose_actor_cannot_be_recorded_does_not_wedge_the_workspace(
        ws: Workspace, dream: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """What an older version left: the live playbook and history written, the intent holding the bad name."""
    with monkeypatch.context() as m:
        m.setattr(approval, "_record", lambda *a, **k: (_ for _ in ()).throw(Crash("killed")))
        with pytest.raises(Crash):
            approve(ws, DREAM, entry_ids=["pb-act00001"], actor="alice")
    path = journal.intent_path(ws, "legal")
    intent = json.loads(path.read_text())
    intent["actor"] = "Jos\udce9"
    path.write_text(json.dumps(intent, indent=2) + "\n")  # json escapes it: "Jos\udce9"

    r = _run(ws, "sessions", "list")
    assert r.exit_code == 0, r.output
    assert not path.exists()
    (rec,) = audit(ws)
    assert rec["action"] == "reconciled" and rec["actor"] == "Jos\\xe9"
    assert "Jos" in (ws.logs_dir / "audit.log").read_text()
    assert _run(ws, "playbooks", "audit", "--verify").exit_code == 0
    again = _run(ws, "playbooks", "approve", DREAM, "--entry", "pb-act00002", "--yes", "--reviewer", "ana")
    assert again.exit_code == 0, again.output
