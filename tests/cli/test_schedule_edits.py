"""`schedule install` over a crontab line the user edited by hand (another time, `nice`, a flag, a variable, a
weekday range, a `#`) rewrites the whole line as before, and now says first, in one `warning:` line, what of
theirs it drops (it said nothing: only doctor's advice did); a variable's value is never echoed. On an absent or
unedited line (whatever its time, or an earlier dreamcli's) it says nothing more than before. `schedule show
--json` reports what is installed: `at` is the installed line's time (it was the default, 03:00, whatever was
installed), and when nothing is, `installed: false` and no time, what install would write under `install`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dreamcli.workspace import schedule as sch
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.schedule_drift import install_drops

USERS = "MAILTO=ana@example.org\n15 * * * * /usr/bin/backup  # the user's own line\n"  # tests/cli/conftest.py's
OFFLINE = "warning: " + sch.offline_warning("cron")  # cron_env sets no model variable
DROPS = "warning: the installed crontab line differs from what `schedule install` writes: it rewrites the whole line "


def _cli(ws: Workspace, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dreamcli", path=env["PATH"]) or "dreamcli"
    return subprocess.run([exe, "--home", str(ws.root), "schedule", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def _warnings(r: subprocess.CompletedProcess[str]) -> list[str]:
    assert r.returncode == 0, r.stderr
    return [line for line in r.stderr.splitlines() if line.startswith("warning:")]


def _ours(env: dict[str, str]) -> str:
    (line,) = [x for x in Path(env["FAKE_CRONTAB_FILE"]).read_text().splitlines() if "dreamcli-schedule" in x]
    return line


def _edit(env: dict[str, str], old: str, new: str) -> str:
    """Edit the installed line by hand (as `crontab -e` would); the edited line."""
    table = Path(env["FAKE_CRONTAB_FILE"])
    line = _ours(env)
    assert old in line
    table.write_text(USERS + line.replace(old, new, 1) + "\n")
    return line.replace(old, new, 1)


def test_an_absent_or_unedited_line_is_installed_as_before(ws: Workspace, cron_env: dict[str, str]) -> None:
    assert _warnings(_cli(ws, cron_env, "install", "--at", "02:30")) == [OFFLINE]
    first = _ours(cron_env)
    assert _warnings(_cli(ws, cron_env, "install", "--at", "02:30")) == [OFFLINE]  # the same line again
    assert _ours(cron_env) == first
    assert _warnings(_cli(ws, cron_env, "install", "--at", "04:00")) == [OFFLINE]  # a time asked for
    assert _ours(cron_env).startswith("0 4 * * * ")
    _edit(cron_env, " --timestamps", "")  # an earlier dreamcli's line: refreshed, nothing of the user's dropped
    assert _warnings(_cli(ws, cron_env, "install", "--at", "04:00")) == [OFFLINE]
    _edit(cron_env, "0 4 * * * ", "0\t4  *\t* *\t")  # whitespace is no edit
    assert _warnings(_cli(ws, cron_env, "install", "--at", "04:00")) == [OFFLINE]
    assert Path(cron_env["FAKE_CRONTAB_FILE"]).read_text() == USERS + _ours(cron_env) + "\n"


def test_an_added_flag_is_named_before_the_line_is_replaced(ws: Workspace, cron_env: dict[str, str]) -> None:
    assert _cli(ws, cron_env, "install").returncode == 0
    installed = _ours(cron_env)
    _edit(cron_env, " dream --quiet", " nice -n 10 dream --quiet --min-support 3")
    r = _cli(ws, cron_env, "install")
    assert _warnings(r) == [DROPS + "and drops: added `nice -n 10`; added `--min-support 3`", OFFLINE]
    assert r.stderr.index("differs") < r.stderr.index("installed (cron)")
    assert _ours(cron_env) == installed  # replaced all the same, as before


def test_a_time_changed_by_hand_is_named_with_the_at_that_keeps_it(ws: Workspace, cron_env: dict[str, str]) -> None:
    assert _cli(ws, cron_env, "install").returncode == 0
    _edit(cron_env, "0 3 * * * ", "15 4 * * * ")
    assert _warnings(_cli(ws, cron_env, "install")) == [
        DROPS + "and drops: its time 04:15 (`--at 04:15` keeps it)", OFFLINE]
    assert _ours(cron_env).startswith("0 3 * * * ")
    _edit(cron_env, "0 3 * * * ", "15 4 * * * ")
    assert _warnings(_cli(ws, cron_env, "install", "--at", "05:00")) == [OFFLINE]  # --at: the time asked for


@pytest.mark.parametrize(("old", "new", "said"), [
    ("0 3 * * * ", "0 3 * * 1-5 ", "its schedule `0 3 * * 1-5` (install writes a daily line)"),
    ("0 3 * * * ", "@daily ", "its schedule `@daily` (`--at 00:00` keeps its time)"),
    (" --quiet", "", "removed `--quiet`"),
    (" --wait 3600", " --wait 60", "`60` instead of `3600`"),
    ("PATH=", "ANTHROPIC_API_KEY=sk-ant-api03-secretsecretsecret PATH=", "added `ANTHROPIC_API_KEY=…`"),
    ("PATH=", "PATH=/opt/bin:", "another value of PATH"),
])
def test_each_kind_of_edit_is_named(ws: Workspace, cron_env: dict[str, str], old: str, new: str, said: str) -> None:
    assert _cli(ws, cron_env, "install").returncode == 0
    _edit(cron_env, old, new)
    r = _cli(ws, cron_env, "install")
    assert _warnings(r)[0] == DROPS + "and drops: " + said
    assert "secret" not in r.stderr and "/opt/bin" not in r.stderr  # a variable's value is never echoed


def test_a_commented_out_line_is_said_to_be_enabled_again(ws: Workspace, cron_env: dict[str, str]) -> None:
    assert _cli(ws, cron_env, "install", "--at", "02:30").returncode == 0
    installed = _ours(cron_env)
    _edit(cron_env, installed, "# " + installed)
    assert _warnings(_cli(ws, cron_env, "install", "--at", "02:30"))[0] == (
        DROPS + "and drops: the `#` that disabled it")
    assert _ours(cron_env) == installed


def _plan() -> sch.Plan:
    return sch.Plan(workspace=Path("/w"), python=Path("/p/python"), dreamcli=Path("/new/bin/dreamcli"),
                    log=Path("/w/l"), lock=Path("/l"), minute=30, hour=2)


def test_install_drops_reads_what_install_rewrites() -> None:
    plan = _plan()
    assert install_drops(plan, None) == [] and install_drops(plan, plan.cron_line) == []
    assert install_drops(plan, plan.cron_line.replace("30 2 ", "0 5 ")) == ["its time 05:00 (`--at 05:00` keeps it)"]
    assert install_drops(plan, plan.cron_line.replace("30 2 ", "0 5 "), time_given=True) == []
    moved = sch.Plan(**{**plan.__dict__, "dreamcli": Path("/old/bin/dreamcli")}).cron_line
    assert install_drops(plan, moved) == ["another value of PATH", "`/old/bin/dreamcli` instead of `/new/bin/dreamcli`"]
    two = plan.cron_line.replace("PATH=", "A=1 B=2 PATH=").replace("--quiet", "-q")
    assert install_drops(plan, two) == ["added `A=… B=…`", "`-q` instead of `--quiet`"]


def _show(ws: Workspace, env: dict[str, str]) -> dict[str, Any]:
    r = _cli(ws, env, "show", "--json")
    assert r.returncode == 0, r.stderr
    shown: dict[str, Any] = json.loads(r.stdout)
    return shown


def test_show_json_reports_the_installed_time_or_none(ws: Workspace, cron_env: dict[str, str]) -> None:
    shown = _show(ws, cron_env)
    assert shown["installed"] is False and shown["at"] is None and shown["schedule"] is None
    assert shown["cron"] is None and shown["systemd"] == []
    would = shown["install"]
    assert would["at"] == "03:00" and would["cron_line"].startswith("0 3 * * * ")
    assert would["command"][-1] == "--timestamps"
    assert (shown["cron_line"], shown["command"]) == (would["cron_line"], would["command"])  # as before
    assert _cli(ws, cron_env, "install", "--at", "22:05").returncode == 0
    shown = _show(ws, cron_env)
    assert (shown["installed"], shown["at"], shown["schedule"]) == (True, "22:05", "5 22 * * *")
    assert shown["cron"] == _ours(cron_env) and shown["install"]["at"] == "03:00"
    _edit(cron_env, "5 22 * * * ", "5 22 * * 1-5 ")  # not a daily time: no `at` made up
    shown = _show(ws, cron_env)
    assert (shown["installed"], shown["at"], shown["schedule"]) == (True, None, "5 22 * * 1-5")
    _edit(cron_env, "5 22 * * 1-5 ", "# 40 1 * * * ")  # commented out: installed, disabled, its time
    shown = _show(ws, cron_env)
    assert (shown["installed"], shown["cron_disabled"], shown["at"]) == (True, True, "01:40")


def test_show_json_reports_the_installed_systemd_timer(ws: Workspace, systemd_env: dict[str, str]) -> None:
    env = systemd_env
    assert _cli(ws, env, "install", "--at", "22:05", "--with", "systemd").returncode == 0
    shown = _show(ws, env)
    assert (shown["installed"], shown["at"], shown["schedule"], shown["cron"]) == (True, "22:05", "*-*-* 22:05:00",
                                                                                   None)


@pytest.mark.parametrize(("edit", "said"), [
    ('ANTHROPIC_CUSTOM_HEADERS="Authorization: Bearer hunter2-s3cr3t" umask', "added `ANTHROPIC_CUSTOM_HEADERS=…`"),
    ("PGPASSWORD='pa ss' umask", "added `PGPASSWORD=…`"),
    ('TOKEN="open quote umask', None),  # unreadable as shell words: still nothing of the value
    ("umask 077; curl -H 'x-api-key: topsecretvalue' http://x; umask", "-H … …"),
    ("umask 077; mysql -u admin -phunter2 -p hunter2 db; umask", "-u … … -p …"),
    ("umask 077; curl -fsS -H 'Authorization: Bearer hunter2' https://x/?access_token=hunter2; # don't", "-H … …"),
])
def test_the_drops_warning_never_shows_a_quoted_or_secret_named_value(edit: str, said: str | None) -> None:
    """A quoted value is one shell word, hidden whole; an option or header named for a secret keeps only its name
    (review of 64dd694: `str.split` hid only the first word of `"Authorization: Bearer …"`)."""
    plan = _plan()
    drops = install_drops(plan, plan.cron_line.replace("umask", edit, 1))
    text = " ".join(drops)
    for secret in ("hunter2", "s3cr3t", "Bearer", "pa ss", "ss'", "quote", "topsecretvalue"):
        assert secret not in text, drops
    assert said is None or said in text, drops
    flags = install_drops(plan, plan.cron_line.replace(" dream ", " dream --api-key v4lue --password=hunter2 ", 1))
    assert flags == ["added `--api-key … --password=…`"]
