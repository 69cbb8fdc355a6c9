"""A session file the dream cannot read (no permission, a directory where a log belongs, an I/O error
midway) is skipped with one warning naming it and the OS's reason; the nightly dream goes on. One that
could not be opened is deferred and read by a later dream once it can be; one gone since it was listed
is skipped without a word, as before."""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.dream import scan as scan_module
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.executors import LocalExecutor, use_executor
from dreamcli.dream.scan import scan_files
from dreamcli.dream.selection import PlaybookScope
from dreamcli.ui import console
from dreamcli.ui.console import warn
from tests.support.unreadable import deny

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline
NOW = datetime(2027, 6, 1, tzinfo=UTC)


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _files(home: Path) -> list[Path]:
    return sorted((home / "sessions").rglob("*.jsonl"))


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: cannot read")]


def test_an_unreadable_session_is_skipped_with_a_warning_and_the_dream_goes_on(
        demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = _files(demo)[4]
    deny(monkeypatch, bad)
    r = run("--home", str(demo), "dream", "--offline", "--dry-run", "--json")
    assert r.exit_code == 0, r.output
    assert "internal error" not in r.stderr
    assert _warnings(r.stderr) == [f"warning: cannot read {bad}: Permission denied; session skipped"]
    inputs = json.loads(r.stdout)["inputs"]
    assert inputs["sessions"] == 39 and inputs["deferred"] == 1  # the other 39 read; that one counted
    assert inputs["unreadable"] == 1


def test_the_skipped_session_is_read_by_a_later_dream_once_it_can_be(
        demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = _files(demo)[4]
    deny(monkeypatch, bad)
    first = run("--home", str(demo), "dream", "--offline", "--json")
    assert first.exit_code == 0 and len(_warnings(first.stderr)) == 1
    assert json.loads(first.stdout)["inputs"]["sessions"] == 39
    mark = json.loads((demo / "state" / "dream" / "default" / "watermark.json").read_text())
    assert mark["deferred"] == [bad.stem]
    still = run("--home", str(demo), "dream", "--offline", "--json")  # every night, until it is fixed
    assert still.exit_code == 0 and len(_warnings(still.stderr)) == 1
    monkeypatch.undo()  # chmod 600 again
    fixed = run("--home", str(demo), "dream", "--offline", "--json")
    assert fixed.exit_code == 0 and _warnings(fixed.stderr) == []
    assert json.loads(fixed.stdout)["inputs"]["sessions"] == 1
    mark = json.loads((demo / "state" / "dream" / "default" / "watermark.json").read_text())
    assert mark["deferred"] == []


def test_a_directory_and_a_vanished_file_in_a_scan_on_two_workers(demo: Path, tmp_path: Path) -> None:
    files = [str(p) for p in _files(demo)]
    folder = tmp_path / "01M0000000000000000000DIR0.jsonl"  # opened: IsADirectoryError, root or not
    folder.mkdir()
    gone = str(tmp_path / "01M0000000000000000000GONE.jsonl")
    sources = sorted([*files, str(folder), gone])
    with use_executor(LocalExecutor(2)):  # read in a pool process or this one: warned once, here
        read, stats = scan_files(sources, Aggregates(), playbook="default", scope=PlaybookScope("default"), now=NOW)
    assert len(read.ids) == 40
    assert stats.unreadable == read.unreadable == [f"{folder}: Is a directory"]
    assert read.deferred == ["01M0000000000000000000DIR0"]


def test_an_io_error_midway_skips_the_rest_of_that_file_only(
        demo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in _files(demo)]
    real = scan_module.open_source

    class Failing:
        """A file whose second read fails (a disk error)."""

        def __init__(self, f: Any) -> None:
            self.f = f

        def __enter__(self) -> Failing:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()

        def __iter__(self) -> Any:
            yield next(iter(self.f))
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(scan_module, "open_source", lambda s: Failing(real(s)) if s == files[2] else real(s))
    said: list[str] = []
    with use_executor(LocalExecutor(1)):
        read, stats = scan_files(files, Aggregates(), playbook="default", scope=PlaybookScope("default"), now=NOW,
                                 on_warning=said.append)
    assert len(read.ids) == 39 and read.deferred == []  # what was read of it is kept: not read again
    assert stats.unreadable == [f"{files[2]}: Input/output error (while reading it)"]
    assert said == [f"cannot read {files[2]}: Input/output error (while reading it); session skipped"]
    assert capsys.readouterr().err == ""  # said by the caller (the CLI, through dreamcli.ui), never here


def test_many_unreadable_files_are_counted_after_the_first_twenty(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folders = [tmp_path / f"01M00000000000000000000{i:03d}.jsonl" for i in range(25)]
    for f in folders:
        f.mkdir()
    said: list[str] = []
    with use_executor(LocalExecutor(1)):
        read, _ = scan_files([str(f) for f in folders], Aggregates(), playbook="default",
                             scope=PlaybookScope("default"), now=NOW, on_warning=said.append)
    assert len(said) == 21 and len(read.unreadable) == 25 and len(read.deferred) == 25
    assert said[-1] == "5 more session files cannot be read; skipped"
    assert capsys.readouterr().err == ""


def test_a_file_name_s_unprintable_characters_are_escaped_as_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """On a pipe the warning is the line the scan itself wrote before it went through dreamcli.ui."""
    odd = tmp_path / "01M0000000000000000000ODD0\x1b]0;x\x07\t\u202e.jsonl"
    odd.mkdir()
    said: list[str] = []
    with use_executor(LocalExecutor(1)):
        scan_files([str(odd)], Aggregates(), playbook="default", scope=PlaybookScope("default"), now=NOW,
                   on_warning=said.append)
    shown = f"{tmp_path}/01M0000000000000000000ODD0\\x1b]0;x\\x07\\t\\u202e.jsonl"
    assert said == [f"cannot read {shown}: Is a directory; session skipped"]
    monkeypatch.setattr(console, "_cache", {})
    warn(said[0])
    assert capsys.readouterr().err == f"warning: cannot read {shown}: Is a directory; session skipped\n"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("no_color", [False, True])
def test_the_dream_s_warning_on_a_terminal_wraps_like_every_warning(
        demo: Path, monkeypatch: pytest.MonkeyPatch, no_color: bool) -> None:
    """On an 80-column terminal the warning hangs under its text, its label coloured unless NO_COLOR (it was one
    long line, never coloured: the scan wrote it to stderr itself)."""
    bad = _files(demo)[4]
    deny(monkeypatch, bad)
    stream = _Tty()
    monkeypatch.setenv("COLUMNS", "80")
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(console, "_cache", {})
    get_command(app).main(["--home", str(demo), "dream", "--offline", "--dry-run", "--json"], prog_name="dreamcli",
                          standalone_mode=False)
    text = stream.getvalue()
    assert ("\x1b[" in text) is not no_color, repr(text)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()
    assert lines == ["warning: cannot read", f"         {bad}:", "         Permission denied; session skipped"]
