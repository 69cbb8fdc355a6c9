"""What a scheduled dream leaves in state/logs/schedule.log: every line dated (`dream --timestamps`, which the
installed line uses), a line saying how each night ended, a dated `error:` line for a night that failed, and the
lock's holder named; `schedule install` says when no model variable reaches the job; `schedule show` says
whether the lock is held and by whom."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace import lockholder
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock
from dreamcli.workspace.schedule import sets_model

DATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S")


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _cli(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dreamcli", path=env["PATH"]) or "dreamcli"
    return subprocess.run([exe, "--home", str(home), *args], capture_output=True, text=True, env=env, timeout=120)


def _nightly(home: Path, env: dict[str, str]) -> int:
    """Run the installed crontab line's command as cron would: a bare environment, from /."""
    line = next(x for x in Path(env["FAKE_CRONTAB_FILE"]).read_text().splitlines() if "dreamcli-schedule" in x)
    command = line.split(" ", 5)[5].split("  # dreamcli-schedule")[0]
    bare = {"PATH": "/usr/bin:/bin", "HOME": env["HOME"], "SHELL": "/bin/sh"}
    return subprocess.run(["/bin/sh", "-c", command], env=bare, cwd="/", timeout=120).returncode


@pytest.mark.usefixtures("no_model")
def test_timestamps_date_every_line_and_end_with_how_the_dream_ended(demo: Path) -> None:
    r = run("--home", str(demo), "dream", "--quiet", "--timestamps")
    assert r.exit_code == 0 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines and all(DATED.match(line) for line in lines), r.stderr
    assert " warning: no model configured (" in lines[0] and "config models" not in r.stderr
    assert "ANTHROPIC_AUTH_TOKEN" in lines[0]
    assert re.search(r" dream ended: playbook=default status=pending dream=\w+ ops=\d+$", lines[-1]), lines[-1]
    again = run("--home", str(demo), "dream", "--quiet", "--timestamps")
    assert again.exit_code == 0
    (line,) = again.stderr.splitlines()
    assert DATED.match(line) and line.endswith(" dream ended: playbook=default status=nothing_new")
    assert run("--home", str(demo), "dream", "--quiet").stderr == ""  # without the option: as before


@pytest.mark.usefixtures("no_model")
def test_a_refused_dream_with_timestamps_is_one_dated_error_naming_the_holder(demo: Path) -> None:
    lockholder.set_command("dreamcli pilot")
    with workspace_lock(Workspace(root=demo, source="option"), "dream"):
        r = run("--home", str(demo), "dream", "--quiet", "--timestamps", "--wait", "0.1")
    assert r.exit_code == 75 and r.stdout == ""
    (line,) = r.stderr.splitlines()
    assert DATED.match(line), line
    assert (f" error: the 'dream' lock of workspace {demo} is still held after waiting 0.1 s, by "
            f"dreamcli pilot (pid {os.getpid()}, since ") in line


@pytest.mark.usefixtures("no_model")
def test_the_lock_record_names_the_command_that_holds_it(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dreamcli.dream.engine as engine

    seen: list[lockholder.Holder | None] = []

    def looks(ws: Workspace, *_a: object, **_k: object) -> None:
        seen.append(lockholder.read_holder(ws.locks_dir / "dream.lock"))
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "run_dream", looks)
    assert run("--home", str(demo), "dream", "--offline").exit_code == 130
    (holder,) = seen
    assert holder is not None and (holder.pid, holder.command, holder.stale) == (os.getpid(), "dreamcli dream", None)
    assert not lockholder.record_path(demo / "state" / "locks" / "dream.lock").exists()  # gone with the lock


def test_the_nightly_line_leaves_dated_lines_and_a_dated_failure(demo: Path, cron_env: dict[str, str]) -> None:
    r = _cli(demo, cron_env, "schedule", "install")
    assert r.returncode == 0, r.stderr
    assert "--timestamps" in Path(cron_env["FAKE_CRONTAB_FILE"]).read_text()
    log = demo / "state" / "logs" / "schedule.log"
    assert _nightly(demo, cron_env) == 0
    (demo / "config.yaml").write_text("dream: [not, a, mapping\n")  # the next night fails
    assert _nightly(demo, cron_env) == 2
    lines = log.read_text().splitlines()
    assert all(DATED.match(line) for line in lines), lines
    assert " dream ended: playbook=default status=pending" in lines[-2]
    assert " error: " in lines[-1] and "config.yaml" in lines[-1]
    assert log.stat().st_mode & 0o777 == 0o600


def test_install_says_when_no_model_reaches_the_job(ws: Workspace, cron_env: dict[str, str]) -> None:
    keyed = {**cron_env, "ANTHROPIC_API_KEY": "sk-ant-only-in-my-shell"}
    r = _cli(ws.root, keyed, "schedule", "install", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["runs_offline"] is True
    (line,) = r.stderr.splitlines()
    assert line.startswith("warning: the nightly dream will run offline") and "ANTHROPIC_API_KEY" in line
    assert "sk-ant" not in Path(cron_env["FAKE_CRONTAB_FILE"]).read_text()  # no key is ever written
    table = Path(cron_env["FAKE_CRONTAB_FILE"])
    table.write_text("ANTHROPIC_BASE_URL=http://127.0.0.1:11434\n" + table.read_text())
    r = _cli(ws.root, cron_env, "schedule", "install", "--json")
    assert r.returncode == 0 and r.stderr == "" and json.loads(r.stdout)["runs_offline"] is False


@pytest.mark.parametrize("manager_env", ["", "ANTHROPIC_BASE_URL=http://127.0.0.1:11434\n"])
def test_install_with_systemd_reads_the_user_managers_environment(ws: Workspace, cron_env: dict[str, str],
                                                                  tmp_path: Path, manager_env: str) -> None:
    fake = tmp_path / "bin" / "systemctl"
    fake.write_text(f"#!/bin/sh\n[ \"$2\" = show-environment ] && printf 'HOME=/h\\n{manager_env}'\nexit 0\n")
    fake.chmod(0o755)
    env = {**cron_env, "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "ANTHROPIC_API_KEY": "sk-ant-only-in-my-shell"}
    r = _cli(ws.root, env, "schedule", "install", "--with", "systemd", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["runs_offline"] is (not manager_env)
    assert ("a systemd user service does not get your shell's environment" in r.stderr) is (not manager_env)
    (service,) = (tmp_path / "cfg" / "systemd" / "user").glob("*.service")
    assert "--timestamps" in service.read_text() and "sk-ant" not in service.read_text()


def test_sets_model_reads_assignments_only() -> None:
    assert sets_model("MAILTO=a@b\nANTHROPIC_API_KEY = sk\n")
    assert sets_model("ANTHROPIC_AUTH_TOKEN='t'\n")
    assert not sets_model("ANTHROPIC_API_KEY=\nANTHROPIC_BASE_URL=''\n# ANTHROPIC_API_KEY=sk\n")
    assert not sets_model("0 3 * * * ANTHROPIC_API_KEY=sk dreamcli dream\nOTHER=1\n")


def _hold(root: str, ready: multiprocessing.Event, release: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    lockholder.set_command("dreamcli dream")
    with workspace_lock(Workspace(Path(root), "option"), "dream"):
        ready.set()  # type: ignore[attr-defined]
        release.wait(30)  # type: ignore[attr-defined]


def test_show_says_whether_the_lock_is_held_and_by_whom(ws: Workspace, cron_env: dict[str, str]) -> None:
    shown = _cli(ws.root, cron_env, "schedule", "show")
    assert shown.returncode == 0 and re.search(r"^lock: +\S+/state/locks/dream\.lock: free$", shown.stdout, re.M)
    free = json.loads(_cli(ws.root, cron_env, "schedule", "show", "--json").stdout)
    assert (free["lock_held"], free["lock_holder"]) == (False, None) and free["lock"].endswith("dream.lock")
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(ws.root), ready, release))
    proc.start()
    try:
        assert ready.wait(10)
        shown = _cli(ws.root, cron_env, "schedule", "show")
        assert re.search(rf"^lock: +\S+dream\.lock: held by dreamcli dream \(pid {proc.pid}, since "
                         r"\d\d:\d\d:\d\d, \d+ s ago\)$", shown.stdout, re.M), shown.stdout
        held = json.loads(_cli(ws.root, cron_env, "schedule", "show", "--json").stdout)
        assert held["lock_held"] is True
        assert {k: held["lock_holder"][k] for k in ("pid", "command", "stale")} == {
            "pid": proc.pid, "command": "dreamcli dream", "stale": None}
    finally:
        release.set()
        proc.join(10)
