"""`dream --executor ray --json` prints only the JSON document on stdout: a Ray worker that died mid-dream (its
task retried, the dream fine) put Ray's `(raylet) A worker died or was killed …` lines, coloured, on stdout
before the document (Ray's driver prints the cluster's errors there from a thread of its own, whatever
`log_to_driver` says), and `dream --json | jq` broke. They go to stderr now, without colour codes. And a task
whose node was lost (its raylet killed) is the environment's failure, exit 4, not exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.dream import executors
from dreamcli.errors import EXIT_CREDENTIALS
from dreamcli.workspace.home import Workspace
from tests.support.ray import FakeRay, RayError, recent_session

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter, as tests/scaling/test_ray_errors.py does for a real local Ray. The first scan task
# to run kills its own worker (Ray retries it); the retry waits 2 s, so Ray's error line has come by then.
_WORKER_DIES = """
import os, sys, time
from dreamcli.cli.app import main
from dreamcli.dream import scan

_real = scan._scan_chunk
MARK = sys.argv[1]


def dies_once(*args):
    try:
        os.close(os.open(MARK, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        if open(MARK).read() == "":
            with open(MARK, "w") as f:
                f.write("retried")
            time.sleep(2)
        return _real(*args)
    os._exit(1)


scan._scan_chunk = dies_once
sys.argv = ["dreamcli", "--home", sys.argv[2], "dream", "--offline", "--dry-run", "--json", "--executor", "ray",
            "--workers", "2"]
main()
"""


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_worker_that_dies_leaves_stdout_to_the_json(ws: Workspace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]')")
    for k in ("RAY_ADDRESS", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    for n in range(4):
        recent_session(ws, n)
    mark = tmp_path / "died"
    out = subprocess.run([sys.executable, "-c", _WORKER_DIES, str(mark), str(ws.root)], capture_output=True,
                         text=True, timeout=220, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert mark.read_text() == "retried", out.stderr[-3000:]  # a worker did die, and its task ran again
    data = json.loads(out.stdout)  # the document alone
    assert data["status"] in ("dry_run", "nothing_new") and data["inputs"]["sessions"] == 4, data
    assert "worker died" in out.stderr.lower(), out.stderr[-3000:]  # Ray's line: said, on stderr
    assert "\x1b[" not in out.stderr, out.stderr[-3000:]


class LocalRayletDiedError(RayError):
    """Stands for ray.exceptions.LocalRayletDiedError."""


def test_a_task_whose_node_is_lost_is_exit_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             no_model: None) -> None:
    fake = FakeRay(cpus=2)
    fake.exceptions = types.SimpleNamespace(**vars(FakeRay.exceptions),
                                            LocalRayletDiedError=LocalRayletDiedError)
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(executors, "_ray_installed", lambda: True)

    def raylet_died(ref: Any, timeout: float | None = None) -> Any:
        raise LocalRayletDiedError("The task's local raylet died. Check raylet.out for more information.")

    monkeypatch.setattr(fake, "get", raylet_died)
    ws = Workspace(tmp_path / "home", "option").ensure_layout()
    for n in range(3):
        recent_session(ws, n)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline", "--executor", "ray"])
    assert r.exit_code == EXIT_CREDENTIALS, r.output
    assert r.stderr.strip().splitlines() == ["error: --executor ray: the Ray cluster lost a task's node: The task's "
                                             "local raylet died; check the cluster (ray status) and dream again"]
