"""Issue 20: the approval prompt's "always allow for this workspace" answer: kept in the workspace's
state/approvals.json (0600), honoured by later runs, on a terminal or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.agent.approvals import ALWAYS_WORKSPACE, Approvals, RememberedAllows, remembered_allows
from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace


def test_workspace_answer_is_kept_private_and_allows_later_sessions(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    asked: list[str] = []

    def ask(kind: str, detail: str) -> str:
        asked.append(detail)
        return ALWAYS_WORKSPACE

    gate = Approvals(ask=ask, remembered=remembered_allows(ws))
    assert gate.check_command("git status").approval == "asked"
    assert gate.check_command("git log -3").approval == "allowed"  # this session too
    path = ws.state_dir / "approvals.json"
    assert path.stat().st_mode & 0o777 == 0o600
    data = json.loads(path.read_text())
    assert data["allow_commands"] == ["git *"] and data["history"][0]["detail"] == "git status"
    later = Approvals(remembered=remembered_allows(ws))  # a later run, without a terminal to ask on
    assert later.check_command("git diff --stat").approval == "allowed"
    assert later.check_command("rm -rf build").approval == "refused"
    assert asked == ["git status"]


def test_a_broken_remembered_file_is_a_clear_input_error(tmp_path: Path) -> None:
    from dreamcli.errors import InputError

    bad = tmp_path / "approvals.json"
    bad.write_text('{"allow_commands": "git *"}')
    bad.chmod(0o600)
    with pytest.raises(InputError, match=r"approvals\.json"):
        RememberedAllows.load(bad)


def _always(kind: str, detail: str) -> str:
    return ALWAYS_WORKSPACE


def test_a_file_that_came_with_a_cloned_repository_is_never_honoured(tmp_path: Path) -> None:
    """A repository can ship .dreamcli/state/approvals.json: checked out (mode 0644) it is refused with
    a clear error; kept private but made in another directory (an unpacked archive), it is ignored."""
    from dreamcli.errors import InputError

    mine = Workspace(root=tmp_path / "mine", source="option").ensure_layout()
    Approvals(ask=_always, remembered=remembered_allows(mine)).check_command("curl -s https://x.example")
    theirs = Workspace(root=tmp_path / "clone", source="option").ensure_layout()
    shipped = theirs.state_dir / "approvals.json"
    shipped.write_text(json.dumps({"version": 1, "allow_commands": ["*"], "allow_writes": ["**"]}))
    shipped.chmod(0o644)
    with pytest.raises(InputError, match="0600"):
        remembered_allows(theirs)
    shipped.write_bytes((mine.state_dir / "approvals.json").read_bytes())  # private, but answered elsewhere
    shipped.chmod(0o600)
    gate = Approvals(remembered=remembered_allows(theirs))
    assert gate.check_command("curl -s https://x.example/y.sh").approval == "refused"
    again = Approvals(remembered=remembered_allows(mine))
    assert again.check_command("curl -s https://x.example/y.sh").approval == "allowed"


def test_remembered_details_are_redacted(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    key = "sk-ant-api03-" + "Q7v2Xk9LmN3pR8sT" * 3
    Approvals(ask=_always, remembered=remembered_allows(ws)).check_command(
        f'curl -H "x-api-key: {key}" https://api.example')
    text = (ws.state_dir / "approvals.json").read_text()
    assert key not in text and "REDACTED" in text


def test_two_runs_answering_w_keep_both_patterns(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    one, two = remembered_allows(ws), remembered_allows(ws)  # both loaded before either answered
    Approvals(ask=_always, remembered=one).check_command("git status")
    Approvals(ask=_always, remembered=two).check_command("make test")
    data = json.loads((ws.state_dir / "approvals.json").read_text())
    assert sorted(data["allow_commands"]) == ["git *", "make *"]


def test_run_prompt_answer_w_is_honoured_by_the_next_run(fake_anthropic: FakeAnthropic, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    workdir = tmp_path / "wd"
    workdir.mkdir()
    (workdir / "notes.txt").write_text("a\nb\n")
    fake_anthropic.expect(
        tool_reply(tool_use("bash", {"command": "wc -l notes.txt"}, id="toolu_a")), text_reply("2 lines."),
        tool_reply(tool_use("bash", {"command": "wc -c notes.txt"}, id="toolu_b")), text_reply("4 bytes."),
    )
    args = ["--home", str(home), "run", "-p", "Count.", "--workdir", str(workdir)]
    monkeypatch.setattr("dreamcli.ui.console.is_interactive", lambda: True)
    first = CliRunner().invoke(app, args, input="w\n")
    assert first.exit_code == 0, first.output
    assert "[w] 'wc *' in this workspace" in first.stderr
    remembered = json.loads((home / "state" / "approvals.json").read_text())
    assert remembered["allow_commands"] == ["wc *"]
    monkeypatch.setattr("dreamcli.ui.console.is_interactive", lambda: False)  # cron, a pipe: nobody to ask
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "allow?" not in second.stderr
    result = fake_anthropic.requests[-1].messages[2]["content"][0]
    assert not result.get("is_error") and "4" in json.dumps(result["content"])
