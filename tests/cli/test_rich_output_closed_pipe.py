"""Output printed through Rich into a closed pipe (`dreamcli sessions show ID | head -1`) stops quietly
with the documented exit code 141, as plain writes do; Rich's own handler exited 1."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace

DREAMCLI = shutil.which("dreamcli")


def _into_a_closed_pipe(home: Path, tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run the installed entry point with stdout on a pipe whose reader has already left."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE, whatever the timing
    env = {**os.environ, "HOME": str(tmp_path / "user"), "NO_COLOR": "1"}
    env.pop("DREAMCLI_HOME", None)
    try:
        proc = subprocess.run([str(DREAMCLI), "--home", str(home), *args], stdout=write_end,
                              stderr=subprocess.PIPE, env=env, timeout=120, check=False)
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr.decode()


@pytest.mark.skipif(DREAMCLI is None, reason="entry point not installed")
@pytest.mark.parametrize("command", ["show", "doctor"])
def test_rich_output_into_a_closed_pipe_exits_141(demo: Path, tmp_path: Path, command: str) -> None:
    sid = next(iter(iter_session_files(Workspace(root=demo, source="option")))).stem
    args = ["sessions", "show", sid] if command == "show" else ["doctor"]
    code, stderr = _into_a_closed_pipe(demo, tmp_path, *args)
    assert (code, stderr) == (141, "")
