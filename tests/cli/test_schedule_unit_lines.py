"""`schedule install --with systemd` over a service the user edited by hand names every line it drops or changes
by its key and only the words of its value that cannot be a secret (an option, a number, a path, a program): an
added `ExecStartPre=` with an Authorization header, a `LoadCredential=`, a changed `Description=` showed whole,
secret and all (only `ExecStart=` and `Environment=` went through that rule). A harmless line (`Nice=10`) still
reads as written. Also: `schedule show` says that the crontab holds a commented-out copy of the line (which
`schedule install` drops), in one short line, and `show --json` counts such copies."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dreamcli.workspace import schedule as sch
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.schedule_units import unit_drops

DROPS = "warning: the installed systemd units differ from what `schedule install` writes: it rewrites them and drops: "
SECRETS = ("sk-live-123", "Bearer", "Authorization", "hunter2", "ghp_", "token:")
ADDED = ("ExecStartPre=/usr/bin/curl -H 'Authorization: Bearer sk-live-123' https://x.example/hook\n"
         "LoadCredential=token:/run/hunter2\nPassEnvironment=hunter2\nNice=10\n")


def _cli(ws: Workspace, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dreamcli", path=env["PATH"]) or "dreamcli"
    return subprocess.run([exe, "--home", str(ws.root), "schedule", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_lines_added_to_the_service_are_named_without_their_secrets(ws: Workspace,
                                                                     systemd_env: dict[str, str]) -> None:
    install = ("install", "--with", "systemd")
    assert _cli(ws, systemd_env, *install).returncode == 0
    (service,) = (Path(systemd_env["XDG_CONFIG_HOME"]) / "systemd" / "user").glob("*.service")
    written = service.read_text()
    service.write_text(written.replace("UMask=0077\n", "UMask=0077\n" + ADDED))
    r = _cli(ws, systemd_env, *install)
    assert r.returncode == 0, r.stderr
    (warning,) = [line for line in r.stderr.splitlines() if line.startswith(DROPS)]
    assert warning == DROPS + ("in the service: added `ExecStartPre=/usr/bin/curl -H … …; LoadCredential=…; "
                               "PassEnvironment=…; Nice=10`")
    assert not any(s in r.stderr for s in SECRETS), r.stderr
    assert service.read_text() == written  # rewritten all the same


def test_a_changed_line_shows_its_key_not_its_value(ws: Workspace, systemd_env: dict[str, str]) -> None:
    install = ("install", "--with", "systemd")
    assert _cli(ws, systemd_env, *install).returncode == 0
    (service,) = (Path(systemd_env["XDG_CONFIG_HOME"]) / "systemd" / "user").glob("*.service")
    service.write_text(service.read_text().replace("Type=oneshot", "Type=ghp_hunter2Xk9"))
    r = _cli(ws, systemd_env, *install)
    (warning,) = [line for line in r.stderr.splitlines() if line.startswith(DROPS)]
    assert warning == DROPS + "in the service: another value of Type"  # the key: a name, never a secret
    assert not any(s in r.stderr for s in SECRETS), r.stderr


def _plan() -> sch.Plan:
    return sch.Plan(workspace=Path("/w"), python=Path("/p/python"), dreamcli=Path("/new/bin/dreamcli"),
                    log=Path("/w/l"), lock=Path("/l"), minute=30, hour=2)


@pytest.mark.parametrize(("added", "said"), [
    ("User=hunter2", "User=…"),
    ("ExecStartPre=-/usr/bin/mysql -phunter2 -u root", "ExecStartPre=-/usr/bin/mysql … -u …"),
    ("ExecStartPost=/bin/sh -c 'echo hunter2 > /tmp/x'", "ExecStartPost=/bin/sh -c …"),
    ("ExecStartPre=/usr/bin/curl -H 'X-Token: hunter2", "ExecStartPre=/usr/bin/curl -H … …"),  # a quote left open
    ("#Environment=TOKEN=hunter2", "#Environment=TOKEN=…"),  # commented out: a line all the same
    ("hunter2", "…"),  # no key: every word through the rule
    ("Environment=A=1 TOKEN=\"hunter2 x\"", "Environment=A=… TOKEN=…"),
    ("TimeoutStartSec = 600", "TimeoutStartSec=600"),
    ("[X-Mine]", "[X-Mine]"),
])
def test_each_added_line_shows_its_key_and_only_safe_words(added: str, said: str) -> None:
    plan = _plan()
    units = {k: v.replace("UMask=0077\n", f"UMask=0077\n{added}\n") for k, v in plan.systemd_units().items()}
    assert unit_drops(plan, units) == [f"in the service: added `{said}`"]


def test_a_harmless_change_still_reads_as_written() -> None:
    plan = _plan()
    units = {k: v.replace("Persistent=true", "Persistent=false") for k, v in plan.systemd_units().items()}
    assert unit_drops(plan, units) == ["in the timer: `Persistent=false` instead of `Persistent=true`"]


def _with_copies(ws: Workspace, env: dict[str, str], copies: int) -> str:
    assert _cli(ws, env, "install").returncode == 0
    table = Path(env["FAKE_CRONTAB_FILE"])
    line = table.read_text().splitlines()[-1]
    table.write_text(table.read_text() + f"#{line}\n" * copies)
    return line


@pytest.mark.slow  # three dreamcli processes
@pytest.mark.parametrize(("copies", "said"), [
    (1, "cron: also a commented-out copy of the line (`schedule install` drops it)"),
    (2, "cron: also 2 commented-out copies of the line (`schedule install` drops them)"),
])
def test_show_names_a_commented_out_copy(ws: Workspace, cron_env: dict[str, str], copies: int, said: str) -> None:
    line = _with_copies(ws, cron_env, copies)
    r = _cli(ws, cron_env, "show")
    assert r.returncode == 0 and r.stderr == f"{said}\n" and len(said) <= 80
    assert f"cron:    {line}\n" in r.stdout  # the active line, as before
    doc = json.loads(_cli(ws, cron_env, "show", "--json").stdout)
    assert (doc["cron"], doc["cron_disabled"], doc["commented_copies"]) == (line, False, copies)


@pytest.mark.slow
def test_show_says_nothing_of_copies_when_there_are_none(ws: Workspace, cron_env: dict[str, str]) -> None:
    _with_copies(ws, cron_env, 0)
    assert _cli(ws, cron_env, "show").stderr == ""
    assert json.loads(_cli(ws, cron_env, "show", "--json").stdout)["commented_copies"] == 0
