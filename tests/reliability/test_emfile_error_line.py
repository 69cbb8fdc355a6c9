"""With not one file descriptor left (EMFILE), the one `error:` line still comes out (exit 74): what the error
path imports lazily (dreamcli.textnorm to shorten the line, dreamcli.ui and Rich to write it) cannot be read then,
so the line does without it; it never ends in a traceback.

The limit is lowered in a subprocess (RLIMIT_NOFILE), never in the test run itself; unlike
tests/reliability/test_too_many_open_files.py, the error path's modules are not imported beforehand."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dreamcli.errors import EXIT_IOERR

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX")

LIMIT = 64


def _script(home: Path, *, show: str = "") -> str:
    """Python that runs `playbooks list` once with descriptors left (its modules imported), then again with
    none left; its exit code is the second run's. `show` names modules whose loading is printed to stderr."""
    return textwrap.dedent(f"""
        import os, resource, sys
        from dreamcli.cli.app import main
        sys.argv = ["dreamcli", "--home", {str(home)!r}, "playbooks", "list"]
        try:
            main()
        except SystemExit:
            pass
        for name in {show.split()!r}:
            sys.stderr.write(f"{{name}} loaded: {{name in sys.modules}}\\n")
        resource.setrlimit(resource.RLIMIT_NOFILE, ({LIMIT}, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        while True:
            try:
                os.open(os.devnull, os.O_RDONLY)
            except OSError:
                break
        try:
            main()
        except SystemExit as e:
            code = e.code
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)
    """)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    assert subprocess.run([sys.executable, "-m", "dreamcli", "--home", str(home), "init"],
                          env={**os.environ, "NO_COLOR": "1"}, capture_output=True, timeout=60).returncode == 0
    return home


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    [line] = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert re.match(rf"error: too many open files \({LIMIT} of {LIMIT} open(; [^)]+)?\): raise the limit", line), line
    return line


def test_the_line_comes_out_without_textnorm(home: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _script(home, show="dreamcli.textnorm")],
                          env={**os.environ, "NO_COLOR": "1"}, capture_output=True, text=True, timeout=60)
    assert "dreamcli.textnorm loaded: False" in done.stderr  # the error path is the first to need it
    assert done.returncode == EXIT_IOERR, done.stderr
    _one_line(done.stderr)


def test_without_the_console_the_line_is_plain(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """What a terminal's line needs (Rich, dreamcli.ui) not importable: a plain line, its controls escaped."""
    from dreamcli.cli import root

    monkeypatch.setitem(sys.modules, "dreamcli.ui.console", None)  # its import raises ImportError
    root._error_line("too many open files (64 of 64 open; /w/\x1b[2Ja): raise the limit")
    assert capsys.readouterr().err == "error: too many open files (64 of 64 open; /w/\\x1b[2Ja): raise the limit\n"
