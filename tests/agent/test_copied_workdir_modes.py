"""What the agent writes in a workdir copied into the workspace (`copy_workdir: true`, the samples) is
private like the rest of the workspace (files 0600, folders 0700), so `doctor` stays quiet after a
sample run; in the user's own working directory it follows the umask (docs/workspace.md)."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.doctor import check_permissions
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use


def _task(tmp_path: Path, *, copy: bool, tools: str = "[write, bash]") -> Path:
    wd = tmp_path / "project" / "docs"
    wd.mkdir(parents=True)
    (wd / "in.txt").write_text("three\nlines\nhere\n")
    task = tmp_path / "project" / "task.yaml"
    task.write_text(f"name: count\nprompt: Count.\nworkdir: docs\ncopy_workdir: {str(copy).lower()}\n"
                    f"tools: {tools}\n")
    return task


def _writes(fake: FakeAnthropic) -> None:
    fake.expect(
        tool_reply(tool_use("write", {"file_path": "out/decisions.json", "content": "{}\n"}, id="toolu_w"),
                   tool_use("bash", {"command": "mkdir made && echo 3 > made/count.txt"}, id="toolu_b")),
        text_reply("3."),
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_the_agent_makes_in_a_copied_workdir_are_private(fake_anthropic: FakeAnthropic, tmp_path: Path,
                                                               umask_022: None) -> None:
    home = tmp_path / "home"
    _writes(fake_anthropic)
    r = CliRunner().invoke(app, ["--home", str(home), "run", str(_task(tmp_path, copy=True)), "--yes"])
    assert r.exit_code == 0, r.output
    (copy,) = (home / "workdirs").iterdir()
    assert (copy / "out" / "decisions.json").read_text() == "{}\n"
    assert _mode(copy / "out" / "decisions.json") == 0o600 and _mode(copy / "out") == 0o700
    assert _mode(copy / "made" / "count.txt") == 0o600 and _mode(copy / "made") == 0o700
    [check] = check_permissions(home)
    assert check.status == "ok", check.detail


def test_the_users_own_workdir_follows_the_umask(fake_anthropic: FakeAnthropic, tmp_path: Path,
                                                 umask_022: None) -> None:
    _writes(fake_anthropic)
    task = _task(tmp_path, copy=False)
    r = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "run", str(task), "--yes"])
    assert r.exit_code == 0, r.output
    wd = task.parent / "docs"
    assert _mode(wd / "out" / "decisions.json") == 0o644 and _mode(wd / "out") == 0o755
    assert _mode(wd / "made" / "count.txt") == 0o644 and _mode(wd / "made") == 0o755
