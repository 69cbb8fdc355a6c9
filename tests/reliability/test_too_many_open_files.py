"""EMFILE ("too many open files") is this process's limit, which a descriptor leak of dreamcli's reaches as surely
as a low `ulimit -n`: its one line (exit 74) says the limit in effect and how many descriptors the process holds,
so a leak shows ("too many open files (1021 of 1024 open)"). ENFILE, the system's table, keeps its line.

The limit is lowered in a subprocess (RLIMIT_NOFILE), never in the test run itself."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dreamcli.errors import EXIT_IOERR, storage_error

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")

LIMIT = 64


def leak(free: int) -> str:
    """Python that lowers the limit, then leaks descriptors until the next open fails (`error`), and closes
    `free` of them again."""
    return textwrap.dedent(f"""
        import os, resource, sys
        resource.setrlimit(resource.RLIMIT_NOFILE, ({LIMIT}, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        from dreamcli.errors import storage_error
        leaked = []
        while True:
            try:
                leaked.append(os.open(os.devnull, os.O_RDONLY))
            except OSError as e:
                error = e
                break
        for fd in leaked[:{free}]:
            os.close(fd)
    """)


def leaked(free: int, then: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", leak(free) + textwrap.dedent(then)], capture_output=True,
                          text=True, timeout=60)


def test_the_line_says_how_many_of_the_limit_are_open() -> None:
    done = leaked(1, "print(storage_error(error))")
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith(f"too many open files ({LIMIT - 1} of {LIMIT} open; {os.devnull}): "), line
    assert "ulimit -n" in line


def test_with_not_one_descriptor_left_all_of_them_are_open() -> None:
    """Listing /proc/self/fd needs a descriptor too: when none is left, every one of the limit is open."""
    done = leaked(0, "print(storage_error(error))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"too many open files ({LIMIT} of {LIMIT} open; {os.devnull}): "), done.stdout


def test_a_command_that_runs_out_of_descriptors(tmp_path: Path) -> None:
    """End to end: a command whose open fails on the lowered limit exits 74 with the counts in its one line."""
    home = tmp_path / "home"
    env = {**os.environ, "NO_COLOR": "1"}
    assert subprocess.run([sys.executable, "-m", "dreamcli", "--home", str(home), "init"], env=env,
                          capture_output=True, timeout=60).returncode == 0
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        import dreamcli.dream.journal, dreamcli.recovery, dreamcli.textnorm, dreamcli.ui.console
        from dreamcli.cli.app import main
        sys.argv = ["dreamcli", "--home", {str(home)!r}, "playbooks", "list"]
        try:
            main()  # the modules the command imports, imported while descriptors are left
        except SystemExit:
            pass
    """) + leak(0) + textwrap.dedent("""
        try:
            main()
        except SystemExit as e:
            sys.exit(e.code)
    """)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_IOERR, done.stderr
    [line] = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert re.match(rf"error: too many open files \({LIMIT} of {LIMIT} open(; [^)]+)?\): raise the limit", line), line


def test_a_named_file_keeps_its_place_beside_the_counts() -> None:
    mapped = storage_error(OSError(errno.EMFILE, os.strerror(errno.EMFILE), "/w/a.json"))
    assert mapped is not None and mapped.exit_code == EXIT_IOERR
    line = str(mapped)
    assert "\n" not in line
    assert re.match(r"too many open files \(\d+ of \d+ open; /w/a\.json\): raise the limit \(ulimit -n\)", line), line


def test_the_system_wide_table_keeps_its_line() -> None:
    mapped = storage_error(OSError(errno.ENFILE, os.strerror(errno.ENFILE), "/w/a.json"))
    assert mapped is not None and mapped.exit_code == EXIT_IOERR
    assert str(mapped).startswith("too many open files in the system (/w/a.json): close other programs")
