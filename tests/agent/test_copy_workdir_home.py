"""`copy_workdir: true` on a folder that holds the workspace (`workdir: .` in a project after `dreamcli init
.`): the copy leaves the workspace home out, as the pilot's trial copies do, so it neither recurses into
`workdirs/` (once: "File name too long", exit 2) nor hands the agent the sessions and state. A workdir
that is the workspace itself, or its `workdirs/`, is refused in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.agent.scratch import with_fresh_workdir, workdirs_root
from dreamcli.agent.spec import TaskSpec
from dreamcli.cli.app import app
from dreamcli.errors import UsageError
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace


def test_a_copy_of_the_project_holding_the_workspace_leaves_the_home_out(
        fake_anthropic: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "in.txt").write_text("input\n")
    assert CliRunner().invoke(app, ["init", str(project)]).exit_code == 0
    home = project / ".dreamcli"
    (project / "task.yaml").write_text("name: count\nprompt: Count.\nworkdir: .\ncopy_workdir: true\n"
                                       "tools: [bash]\n")
    fake_anthropic.expect(tool_reply(tool_use("bash", {"command": "ls -A"}, id="toolu_ls")), text_reply("Counted."))
    monkeypatch.chdir(project)
    monkeypatch.delenv("DREAMCLI_HOME", raising=False)
    r = CliRunner().invoke(app, ["run", "task.yaml", "--yes"])
    assert r.exit_code == 0, r.output
    (copy,) = (home / "workdirs").iterdir()
    assert sorted(p.name for p in copy.iterdir()) == ["src", "task.yaml"]  # no .dreamcli in the agent's copy
    assert (copy / "src" / "in.txt").read_text() == "input\n"
    (result,) = [b for m in fake_anthropic.requests[-1].body["messages"] if isinstance(m["content"], list)
                 for b in m["content"] if b.get("tool_use_id") == "toolu_ls"]
    assert ".dreamcli" not in str(result["content"]) and "task.yaml" in str(result["content"])  # what `ls -A` showed


def test_the_home_is_left_out_at_any_depth_and_by_any_path(ws: Workspace, tmp_path: Path) -> None:
    """The workspace deep inside the workdir, reached through a folder that is a symlink too."""
    src = tmp_path / "proj"
    (src / "a" / "b").mkdir(parents=True)
    (src / "a" / "b" / "keep.txt").write_text("k")
    deep = Workspace(src / "a" / "b" / "ws", "option").ensure_layout()
    (deep.sessions_dir / "s.jsonl").write_text("{}\n")
    (src / "alias").symlink_to("a/b/ws")  # a relative link inside: copied as a link, nothing read through it
    spec = with_fresh_workdir(deep, TaskSpec(prompt="x", name="t", workdir=src, copy_workdir=True))
    assert spec.workdir is not None and spec.workdir.parent == workdirs_root(deep)
    names = sorted(str(p.relative_to(spec.workdir)) for p in spec.workdir.rglob("*"))
    assert names == ["a", "a/b", "a/b/keep.txt", "alias"]


@pytest.mark.parametrize("which", ["home", "workdirs"])
def test_a_workdir_that_is_the_workspace_is_refused(ws: Workspace, which: str) -> None:
    workdirs_root(ws).mkdir(exist_ok=True)
    src = ws.root if which == "home" else workdirs_root(ws)
    with pytest.raises(UsageError) as err:
        with_fresh_workdir(ws, TaskSpec(prompt="x", name="t", workdir=src, copy_workdir=True))
    assert "\n" not in str(err.value) and "workspace" in str(err.value)
    assert list(workdirs_root(ws).iterdir()) == []


def test_a_copy_cut_short_is_a_temp_folder_the_next_command_sweeps(ws: Workspace, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch stopped by Ctrl-C ends a task's copying thread with the process: no clean-up runs. What it left
    must not look like a finished copy (a workdir with part of the files), and the next command removes it."""
    import dreamcli.agent.scratch as scratch
    from dreamcli.recovery import sweep_dead

    work = tmp_path / "task-work"
    work.mkdir()
    for i in range(5):
        (work / f"f{i}.txt").write_text("x")
    calls = {"n": 0}
    real = scratch._copy_file

    def dies_half_way(path: str, dest: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("the process ends here")
        real(path, dest)

    monkeypatch.setattr(scratch, "_copy_file", dies_half_way)
    monkeypatch.setattr(scratch.shutil, "rmtree", lambda *a, **k: None)  # as a killed thread: nothing cleans up
    with pytest.raises(SystemExit):
        with_fresh_workdir(ws, TaskSpec(name="triage", prompt="p", workdir=str(work), copy_workdir=True))
    monkeypatch.undo()
    [left] = list(workdirs_root(ws).iterdir())
    assert left.name.startswith(".tmp-triage-") and left.name.endswith(f"-{os.getpid()}")
    dead = left.with_name(left.name.rsplit("-", 1)[0] + "-999999999")  # as the next command finds it
    left.rename(dead)
    sweep_dead(ws)
    assert list(workdirs_root(ws).iterdir()) == []
