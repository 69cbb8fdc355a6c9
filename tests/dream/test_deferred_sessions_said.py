"""A dream that set sessions aside as still running says so in its plain output, not only in `--json`
(`inputs.deferred`): how many, why, and when a dream reads them. A run killed a minute ago (no `session.end`)
was "Nothing new to dream about … (no new sessions or grades)", and the user's session seemed lost."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace
from tests.dream.test_deferred_sessions_teach_nothing import Log

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline

SAID = ("1 session set aside as still running (no end yet, active in the last 30 minutes): a later dream reads it "
        "once it has ended or been idle for 30 minutes.")


def _killed_a_minute_ago(ws: Workspace, n: int = 1) -> None:
    """`n` runs killed a minute ago (no end), a second apart."""
    start = int(time.time() * 1000) - 70_000
    for i in range(n):
        Log(ws, start - i * 1000).flush(running=True)


def _dream(home: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["--home", str(home), "dream", "--offline", *args], env={"COLUMNS": "400"})
    return r.exit_code, r.stdout, r.stderr


def test_nothing_new_names_the_session_set_aside_as_running(ws: Workspace) -> None:
    _killed_a_minute_ago(ws)
    code, out, err = _dream(ws.root, "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "nothing_new" and data["inputs"]["deferred"] == 1, (out, err)

    code, out, err = _dream(ws.root)  # the next dream: the session is still "running"
    assert code == 0 and out == "", (out, err)
    lines = err.strip().splitlines()
    assert lines[0].startswith("Nothing new to dream about for playbook 'default'"), err
    assert lines[1:] == [SAID], err


def test_a_dream_that_read_sessions_says_the_ones_set_aside_too(ws: Workspace) -> None:
    for minutes in (300, 200):  # two ended sessions, long ago
        Log(ws, int(time.time() * 1000) - minutes * 60_000).finish()
    _killed_a_minute_ago(ws, 2)
    code, _, err = _dream(ws.root, "--dry-run")
    assert code == 0, err
    read = [line for line in err.splitlines() if line.startswith("Read 2 sessions")]
    assert read, err
    after = err.splitlines()[err.splitlines().index(read[0]) + 1]
    assert after == ("2 sessions set aside as still running (no end yet, active in the last 30 minutes): a later "
                     "dream reads them once they have ended or been idle for 30 minutes."), err
