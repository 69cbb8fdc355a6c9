"""`--home` naming a folder that is not a dreamcli workspace (a project folder, a typo): a read-only
command is exit 2 with one line and changes nothing there; recovery never sweeps it; creating commands
still work on an empty or new folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app

pytestmark = pytest.mark.usefixtures("no_model")


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def _project(tmp_path: Path) -> tuple[Path, list[Path]]:
    proj = tmp_path / "proj"
    files = [proj / "memory" / ".notes.tmp", proj / "playbooks" / ".draft.12345.abc.tmp",
             proj / "dreams" / ".tmp-foo" / "file"]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("data")
    old = time.time() - 3 * 3600
    for p in (*files, proj / "dreams" / ".tmp-foo"):
        os.utime(p, (old, old))
    return proj, files


@pytest.mark.parametrize("args", [("sessions", "list"), ("playbooks", "list"), ("config", "show")])
@pytest.mark.parametrize("own_playbooks", [False, True])
def test_a_read_only_command_refuses_a_folder_that_is_no_workspace(tmp_path: Path, args: tuple[str, ...],
                                                                    own_playbooks: bool) -> None:
    proj, files = _project(tmp_path)
    if own_playbooks:  # a docs project with a playbooks/ folder of its own is still not a workspace
        (proj / "playbooks" / "deploy.md").write_text("# How we deploy\n")
    before = sorted(p.relative_to(proj) for p in proj.rglob("*"))
    r = run("--home", str(proj), *args)
    assert r.exit_code == 2, r.output
    assert "not a dreamcli workspace" in r.stderr and r.stderr.count("\n") == 1
    assert all(f.exists() for f in files)
    assert sorted(p.relative_to(proj) for p in proj.rglob("*")) == before  # no state/ either


def test_the_env_variable_is_refused_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proj, files = _project(tmp_path)
    monkeypatch.setenv("DREAMCLI_HOME", str(proj))
    r = run("sessions", "list")
    assert r.exit_code == 2 and "not a dreamcli workspace" in r.stderr
    assert all(f.exists() for f in files) and not (proj / "state").exists()


def test_recovery_never_sweeps_a_folder_that_is_no_workspace(tmp_path: Path) -> None:
    from dreamcli.recovery import recover_workspace
    from dreamcli.workspace.home import Workspace

    proj, files = _project(tmp_path)
    recover_workspace(Workspace(proj, "option"))
    assert all(f.exists() for f in files)


def test_creating_commands_work_on_an_empty_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("--home", str(empty), "init").exit_code == 0
    assert (empty / "config.yaml").is_file()
    r = run("--home", str(empty), "sessions", "list")
    assert r.exit_code == 0, r.output


def test_a_real_workspace_is_still_swept(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    assert run("--home", str(home), "init").exit_code == 0
    stale = home / "memory" / ".notes.tmp"
    stale.write_text("x")
    old = time.time() - 3 * 3600
    os.utime(stale, (old, old))
    os.utime(home / "state" / "live" / ".swept", (old, old))
    assert run("--home", str(home), "sessions", "list").exit_code == 0
    assert not stale.exists()
