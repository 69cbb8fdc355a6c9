"""A stdout that cannot take the output (`> /dev/full`) is said as export says it: `no space left on device (writing
stdout)`, one line, exit 74 (docs/cli.md: a 74 line names the file). The line named no file, so a user went looking
for a full workspace disk; and with stdout buffered (no PYTHONUNBUFFERED, as users run it) a small output failed
only when the interpreter flushed it at exit: `Exception ignored in: <_io.TextIOWrapper name='<stdout>'…>` and
exit 120, a traceback from Typer itself for `--help`."""

from __future__ import annotations

import os
import subprocess

import pytest

from dreamcli.workspace.home import Workspace
from tests.support.run import DREAMCLI, cli_env

FULL = ("error: no space left on device (writing stdout): free some space and run the command again; nothing "
        "written before is lost\n")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")]


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", [["sessions", "list", "--json"], ["config", "show"], ["--version"], ["--help"]],
                         ids=["sessions-list", "config-show", "version", "help"])
def test_a_full_stdout_is_named(ws: Workspace, no_model: None, args: list[str], buffered: bool) -> None:
    env = cli_env(None, ws.root)
    env.pop("PYTHONUNBUFFERED", None)
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "w") as full:
        r = subprocess.run([DREAMCLI, *args], env=env, stdin=subprocess.DEVNULL, stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (74, FULL)
