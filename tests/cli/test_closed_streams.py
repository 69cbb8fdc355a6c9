"""A command started with stdout closed (`dreamcli … >&-`) is refused before any work: one `error:` line, exit 2,
nothing read or written. Some crashed with `internal error: AttributeError` (a successful `run` exiting 1), the
others exited 0 with their output lost (`dream --offline --json >&-` made a proposal no one saw). A closed stderr
loses the messages but not the exit code. Real processes: a descriptor closed before the interpreter starts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dreamcli.workspace.home import Workspace
from tests.support.run import DREAMCLI, cli_env

REFUSAL = "error: stdout is closed; redirect it to a file, or to /dev/null to discard the output\n"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="closes a descriptor at exec")]


def _without(fd: int, args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """The installed `dreamcli` with descriptor `fd` closed, as `>&-` (1) or `2>&-` (2) leaves it."""
    return subprocess.run([DREAMCLI, *args], env=cli_env(None, home), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE if fd != 1 else None, stderr=subprocess.PIPE if fd != 2 else None,
                          text=True, timeout=60, preexec_fn=lambda: os.close(fd))


@pytest.mark.parametrize("args", [["sessions", "list", "--json"], ["config", "show"], ["playbooks", "diff"],
                                  ["run", "-p", "hi", "--yes"], ["export", "-f", "json", "-o", "-"], ["--help"]],
                         ids=["sessions-list", "config-show", "playbooks-diff", "run", "export", "help"])
def test_a_closed_stdout_is_refused_in_one_line(ws: Workspace, no_model: None, args: list[str]) -> None:
    r = _without(1, args, ws.root)
    assert (r.returncode, r.stderr) == (2, REFUSAL)
    assert not list(ws.sessions_dir.rglob("*.jsonl"))  # `run` never started: no session logged


def test_nothing_is_dreamed_for_no_one(demo: Path, no_model: None) -> None:
    before = sorted(p.name for p in (demo / "dreams").iterdir()) if (demo / "dreams").exists() else []
    r = _without(1, ["dream", "--offline", "--json"], demo)
    assert (r.returncode, r.stderr) == (2, REFUSAL)
    after = sorted(p.name for p in (demo / "dreams").iterdir()) if (demo / "dreams").exists() else []
    assert after == before


def test_a_closed_stderr_keeps_the_exit_code_and_the_output(ws: Workspace, no_model: None) -> None:
    refused = _without(2, ["sessions", "show", "01NOSUCHSESSION"], ws.root)
    assert (refused.returncode, refused.stdout) == (2, "")  # its error line lost, not its meaning (was 1)
    listed = _without(2, ["sessions", "list", "--json"], ws.root)
    assert listed.returncode == 0 and listed.stdout.startswith("{")
