"""Records of another pid namespace (a container sharing the workspace): nothing in it is ever stopped from here, and
the record goes once that namespace is gone, which only a sweep that sees every process of every namespace can tell
(docs/reliability.md, "Worker processes")."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dreamcli import procinfo, shell_records
from tests.reliability.test_orphaned_shells import alive, wait_gone
from tests.reliability.test_shell_sweep_spares import SWEEP, children, dead_record, in_namespace, namespace

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/ns/pid").exists(), reason="reads the process table in /proc"),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"),
]

INITIAL = namespace() == procinfo.INITIAL_PID_NAMESPACE

# An owner in a container (argv[1] the records' folder), not its first process: its shell leaves a job running.
OWNER = """
import os, sys, time
from pathlib import Path
from dreamcli.agent.tools.shell import Shell
shell = Shell(Path("/tmp"), dict(os.environ), 1000, groups=Path(sys.argv[1]))
shell.run("sleep 350 >/dev/null 2>&1 &", 10)
print("ready", flush=True)
time.sleep(300)
"""


@pytest.mark.skipif(not INITIAL, reason="only the initial pid namespace sees every other")
def test_a_record_is_dropped_once_its_pid_namespace_is_gone(tmp_path: Path) -> None:
    """The owner killed while its container runs: the container's own next sweep is the one to stop its job, so
    the record stays and nothing is stopped. Once the container is gone (its first process ended, and with it all
    its processes), the record is dropped."""
    folder = tmp_path / "shells"
    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    proc = subprocess.Popen(["unshare", "-pf", "--mount-proc", "sh", "-c", '"$0" "$1" "$2" & exec sleep 351',
                             sys.executable, str(script), str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline() != b"ready\n":
            pytest.skip("no pid namespace here")
        [init] = children(proc.pid)
        ns = os.readlink(f"/proc/{init}/ns/pid")
        [owner] = in_namespace(ns, sys.executable, str(script), str(folder))
        [job] = in_namespace(ns, "sleep", "350")
        [record] = list(folder.iterdir())
        os.kill(owner, signal.SIGKILL)
        assert not wait_gone([owner], 2)
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == []
        assert alive(job) and alive(init) and record.exists()
        os.kill(init, signal.SIGKILL)  # the container ends: the kernel stops all its processes
        proc.wait(10)
        assert not wait_gone([job], 2)
        assert shell_records.stop_orphaned_groups(folder, grace=0.5) == []
        assert not record.exists()
    finally:
        for pid in children(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


def test_a_sweep_in_a_container_keeps_the_records_of_namespaces_it_cannot_see(tmp_path: Path) -> None:
    """From a container, the host's processes and other containers' are out of sight: a namespace with no process
    seen may well run. Both records stay, though one names a namespace gone long ago."""
    folder = tmp_path / "shells"
    host = dead_record(folder, "cafe")  # the host's namespace: its owner runs, for all the container knows
    gone = dead_record(folder, "f00d", pgid=999999997, pidns="pid:[1]")
    (tmp_path / "sweep.py").write_text(SWEEP)
    r = subprocess.run(["unshare", "-pf", "--mount-proc", sys.executable, str(tmp_path / "sweep.py"), str(folder)],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0 and "unshare" in r.stderr:
        pytest.skip("no pid namespace here")
    assert (r.returncode, r.stdout) == (0, "[]\n"), r.stderr
    assert host.exists() and gone.exists()


@pytest.mark.skipif(not INITIAL, reason="only the initial pid namespace sees every other")
def test_a_namespace_is_not_called_gone_when_a_process_could_not_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process whose namespace this one may not read (another user's, without privilege) may be in it."""
    assert procinfo.pid_namespaces_in_use(["pid:[1]", namespace()]) == {namespace()}
    real = os.readlink

    def readlink(path: str) -> str:
        if path == f"/proc/{os.getppid()}/ns/pid":
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(procinfo.os, "readlink", readlink)
    assert procinfo.pid_namespaces_in_use(["pid:[1]"]) is None
    assert procinfo.pid_namespaces_in_use([namespace()]) == {namespace()}  # seen: it runs, whatever is unseen
