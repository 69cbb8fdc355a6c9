"""A live playbook whose front matter does not parse (a bad hand edit): `playbooks revert` recovers it
from a kept version (audited with `live_damaged`), `playbooks history` still lists the kept versions,
and every command that refuses it (show, lint, a run) says how to recover."""

from __future__ import annotations

import json

import pytest

from dreamcli.audit import content_hash
from dreamcli.errors import InputError
from dreamcli.playbooks import load_playbook
from dreamcli.playbooks.store import history_dir, load_version_text, playbook_path
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, cli, write_playbook

ENTRIES = [("pb-aaaaaa01", "Tools", "Use pandoc for docx."), ("pb-aaaaaa02", "Corrections", "Cite by section.")]
HINT = "dreamcli playbooks revert legal 1"


def _damage(ws: Workspace) -> str:
    path = playbook_path(ws, "legal")
    text = path.read_text().replace("version: 1", "version: [oops", 1)
    path.write_text(text)
    return text


@pytest.fixture
def damaged(ws: Workspace) -> str:
    """legal v1, kept and approved (audited), then its live front matter broken by hand."""
    write_playbook(ws, "legal", ENTRIES, version=1)
    return _damage(ws)


def test_revert_to_a_kept_version_recovers_a_damaged_live_file(ws: Workspace, damaged: str) -> None:
    r = cli(ws, "playbooks", "revert", "legal", "1", "--yes", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["live_damaged"] is True
    live = load_playbook(ws, "legal")
    assert live is not None and [e.id for e in live.entries()] == ["pb-aaaaaa01", "pb-aaaaaa02"]
    assert live.version == 2
    rec = audit(ws)[-1]
    assert (rec["action"], rec["to_version"], rec["live_damaged"]) == ("revert", 1, True)
    assert (rec["version_before"], rec["version_after"]) == (1, 2)
    assert rec["hash_before"] == content_hash(damaged)
    assert load_version_text(ws, "legal", 1) != damaged  # the damaged text never becomes a kept version
    assert cli(ws, "playbooks", "audit", "--verify").exit_code == 0
    kept = json.loads(r.stdout)["damaged_kept"]  # but it is not lost: the person's edits in it are theirs
    assert kept.startswith("state/damaged/legal-") and rec["damaged_kept"] == kept
    assert (ws.root / kept).read_text() == damaged and (ws.root / kept).stat().st_mode & 0o777 == 0o600


def test_revert_to_0_empties_a_damaged_live_file_that_has_no_kept_version(ws: Workspace) -> None:
    write_playbook(ws, "legal", ENTRIES, version=1, history=False)
    _damage(ws)
    r = cli(ws, "playbooks", "revert", "legal", "0", "--yes")
    assert r.exit_code == 0, r.output
    live = load_playbook(ws, "legal")
    assert live is not None and live.entries() == []
    assert sorted(p.name for p in history_dir(ws, "legal").glob("v*.md")) == ["v1.md"]  # no damaged v0.md
    [copy] = list((ws.state_dir / "damaged").iterdir())  # the hand-written entries are kept all the same
    assert "Use pandoc for docx." in copy.read_text() and "kept its text in" in r.stderr


def test_history_lists_the_kept_versions_and_says_how_to_recover(ws: Workspace, damaged: str) -> None:
    r = cli(ws, "playbooks", "history", "legal")
    assert r.exit_code == 0, r.output
    assert "v1" in r.stdout
    assert "invalid YAML" in r.stderr and HINT.replace("dreamcli", f"dreamcli --home {ws.root}") in r.stderr
    data = json.loads(cli(ws, "playbooks", "history", "legal", "--json").stdout)
    assert [v["version"] for v in data["versions"]] == [1] and not data["versions"][0]["live"]
    assert len(data["problems"]) == 1 and HINT in data["problems"][0]


@pytest.mark.parametrize("command", [("show", "legal"), ("lint", "legal")])
def test_a_command_refusing_the_damaged_file_says_how_to_recover(ws: Workspace, damaged: str,
                                                                 command: tuple[str, ...]) -> None:
    r = cli(ws, "playbooks", *command)
    assert r.exit_code == 2
    assert "legal.md:4: invalid YAML" in r.stderr
    assert HINT.replace("dreamcli", f"dreamcli --home {ws.root}") in r.stderr


def test_a_run_still_refuses_the_damaged_file(ws: Workspace, damaged: str) -> None:
    with pytest.raises(InputError, match="invalid YAML in front matter") as e:
        load_playbook(ws, "legal")
    assert HINT in str(e.value) and e.value.line == 4


def test_a_revert_killed_before_its_audit_is_reconciled_as_replacing_a_damaged_file(
        ws: Workspace, damaged: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `reconciled` record the next command writes says what the revert's own would have: the live file it
    replaced did not parse, and where its text is kept."""
    import dreamcli.playbooks.history as history_mod

    class Crash(Exception):
        pass

    def crash(*_args: object, **_kwargs: object) -> None:
        raise Crash("power cut")

    with monkeypatch.context() as m:
        m.setattr(history_mod, "append_audit", crash)
        with pytest.raises(Crash):
            history_mod.revert(ws, "legal", 1, actor="alice")
    [kept] = [p.relative_to(ws.root).as_posix() for p in (ws.state_dir / "damaged").iterdir()]
    assert cli(ws, "playbooks", "revert", "legal", "2", "--yes").exit_code == 0
    rec = next(r for r in audit(ws) if r["action"] == "reconciled")
    assert (rec["interrupted"], rec["actor"], rec["hash_before"]) == ("revert", "alice", content_hash(damaged))
    assert (rec.get("live_damaged"), rec.get("damaged_kept")) == (True, kept)
