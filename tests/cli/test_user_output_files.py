"""Files and folders the user names as a command's output: one that cannot be written (a folder without write
permission) is one line naming it and the cause, exit 2, never an internal error (`init DIR`, `--html FILE`,
as `export -o` is); `--html` replaces a page dreamcli wrote, never another file (notes.txt named by mistake);
`export -o -` writes no binary bundle to a terminal; `init` says when it made a workspace in a folder of
other files."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.cli.html_out import PAGE_MARK
from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace
from tests.portability.support import make_workspace
from tests.support.playbooks import cli
from tests.support.review_html import review_workspace


def _one_line(r: Any, line: str, code: int = 2) -> None:
    assert r.exit_code == code, r.output
    assert r.stderr.splitlines() == [line]


@pytest.fixture
def ro(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path/ro, a folder nothing can be created in, as `chmod 500` makes it for any user but root:
    os.open with O_CREAT and os.mkdir there fail with EACCES (patched, so the test runs the same as root)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    real_open, real_mkdir = os.open, os.mkdir

    def denied(path: Any) -> bool:
        return ro in Path(os.path.abspath(path)).parents

    def fake_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT and denied(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def fake_mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if denied(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    return ro


# --- a folder that cannot be written in ----------------------------------------------------------------

def test_init_in_a_folder_without_write_permission(ro: Path) -> None:
    r = CliRunner().invoke(app, ["init", str(ro / "proj")])
    _one_line(r, f"error: workspace {ro / 'proj' / '.dreamcli'}: cannot create it: Permission denied "
                 f"({ro / 'proj'})")
    r = CliRunner().invoke(app, ["--home", str(ro / "ws"), "init"])
    _one_line(r, f"error: workspace {ro / 'ws'}: cannot create it: Permission denied")
    assert list(ro.iterdir()) == []


def test_html_in_a_folder_without_write_permission(ws: Workspace, ro: Path) -> None:
    review_workspace(ws)
    sid = next(iter(iter_session_files(ws))).stem
    _one_line(cli(ws, "playbooks", "diff", "--html", str(ro / "r.html")),
              f"error: --html {ro / 'r.html'}: cannot write it: Permission denied")
    _one_line(cli(ws, "playbooks", "diff", "--html", str(ro / "sub" / "r.html")),
              f"error: --html {ro / 'sub' / 'r.html'}: cannot write it: Permission denied ({ro / 'sub'})")
    _one_line(cli(ws, "sessions", "show", sid, "--html", str(ro / "s.html")),
              f"error: --html {ro / 's.html'}: cannot write it: Permission denied")
    assert list(ro.iterdir()) == []


# --- --html replaces only a page dreamcli wrote ------------------------------------------------------------

def _kept(target: Path) -> str:
    return f"error: --html {target}: exists and is not a page dreamcli wrote (kept: move it away, or give " \
           "another --html FILE)"


def test_html_keeps_a_file_that_is_not_its_page(ws: Workspace, tmp_path: Path) -> None:
    review_workspace(ws)
    sid = next(iter(iter_session_files(ws))).stem
    notes = tmp_path / "notes.txt"
    notes.write_text("precious\n")
    _one_line(cli(ws, "playbooks", "diff", "--html", str(notes)), _kept(notes))
    _one_line(cli(ws, "sessions", "show", sid, "--html", str(notes)), _kept(notes))
    _one_line(cli(ws, "playbooks", "diff", "--html", str(notes), "--with-transcripts"), _kept(notes))
    assert notes.read_text() == "precious\n"
    assert not (tmp_path / "notes-transcripts").exists()  # refused before any page is written beside it


@pytest.mark.parametrize("command", ["diff", "show"])
def test_html_replaces_its_own_page_and_an_empty_file(ws: Workspace, tmp_path: Path, command: str) -> None:
    review_workspace(ws)
    sid = next(iter(iter_session_files(ws))).stem
    args = ["playbooks", "diff"] if command == "diff" else ["sessions", "show", sid]
    page = tmp_path / "page.html"
    page.touch()  # as `mktemp` leaves it: nothing in it to lose
    for _ in range(2):  # the reviewer's page made again every morning
        r = cli(ws, *args, "--html", str(page))
        assert r.exit_code == 0, r.output
        assert PAGE_MARK in page.read_bytes().split(b"</head>")[0]


def test_transcript_pages_beside_the_review_page_follow_the_same_rule(ws: Workspace, tmp_path: Path) -> None:
    review_workspace(ws)
    page = tmp_path / "review.html"
    r = cli(ws, "playbooks", "diff", "--html", str(page), "--with-transcripts")
    assert r.exit_code == 0, r.output
    first, *others = sorted((tmp_path / "review-transcripts").iterdir())
    assert others and all(PAGE_MARK in p.read_bytes() for p in (first, *others))
    r = cli(ws, "playbooks", "diff", "--html", str(page), "--with-transcripts")
    assert r.exit_code == 0, r.output  # made again over its own pages
    first.write_text("my notes on this session\n")
    page.unlink()
    r = cli(ws, "playbooks", "diff", "--html", str(page), "--with-transcripts")
    _one_line(r, f"error: --with-transcripts {first}: exists and is not a page dreamcli wrote (kept: move it "
                 "away, or give another --html FILE)")
    assert first.read_text() == "my notes on this session\n"
    assert not page.exists()


def test_a_user_file_among_the_transcript_pages_stops_before_any_page_is_written(ws: Workspace,
                                                                              tmp_path: Path) -> None:
    """The last page's name taken by a file of the user's: the pages before it are not made again either, so the
    folder is not left half old, half new."""
    review_workspace(ws)
    page = tmp_path / "review.html"
    assert cli(ws, "playbooks", "diff", "--html", str(page), "--with-transcripts").exit_code == 0
    *others, last = sorted((tmp_path / "review-transcripts").iterdir())
    last.write_text("my notes on this session\n")
    for p in others:
        p.write_bytes(p.read_bytes() + b"<!-- as the last run left it -->")
    before = {p: p.read_bytes() for p in others}
    r = cli(ws, "playbooks", "diff", "--html", str(page), "--with-transcripts")
    _one_line(r, f"error: --with-transcripts {last}: exists and is not a page dreamcli wrote (kept: move it "
                 "away, or give another --html FILE)")
    assert others and {p: p.read_bytes() for p in others} == before


# --- export -o - on a terminal -------------------------------------------------------------------------------

def _export_on_a_terminal(home: Path, fmt: str) -> tuple[int, bytes, str]:
    """`dreamcli --home HOME export -f FMT -o -` with stdout on a pty: its exit code, what reached the
    terminal, its stderr."""
    import pty

    from tests.support.terminal import read_all

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DREAMCLI_"))}
    try:
        proc = subprocess.Popen([sys.executable, "-m", "dreamcli", "--home", str(home), "export", "-f", fmt,
                                 "-o", "-"], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                                env={**env, "NO_COLOR": "1"})
    finally:
        os.close(slave)
    shown = read_all(master)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    return proc.wait(timeout=60), shown, err


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="a pty is POSIX")
def test_export_writes_no_bundle_to_a_terminal_but_prints_text(tmp_path: Path) -> None:
    home = make_workspace(tmp_path / "ws", sessions=False).root
    code, shown, err = _export_on_a_terminal(home, "bundle")
    assert (code, shown) == (2, b""), err
    assert err.splitlines() == ["error: refusing to write a binary bundle to a terminal; redirect stdout or "
                                "give -o FILE"]
    code, shown, err = _export_on_a_terminal(home, "claude-md")
    assert code == 0, err
    assert b"make lock" in shown  # a text format still prints


# --- init in a folder of other files -----------------------------------------------------------------------------

def test_init_says_it_made_a_workspace_in_a_folder_of_other_files(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir(mode=0o700)
    (proj / "notes.txt").write_text("mine\n")
    r = CliRunner().invoke(app, ["--home", str(proj), "init"])
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines() == [f"Created workspace: {proj}",
                                     f"{proj} held files of its own and was not a workspace: it is one now, its "
                                     "files left as they were"]
    assert (proj / "notes.txt").read_text() == "mine\n" and (proj / "config.yaml").is_file()
    again = CliRunner().invoke(app, ["--home", str(proj), "init", "--json"])
    assert json.loads(again.stdout)["created"] is False
    assert "already exists" in CliRunner().invoke(app, ["--home", str(proj), "init"]).stderr


def test_init_json_says_created_in_a_folder_of_other_files(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "notes.txt").write_text("mine\n")
    r = CliRunner().invoke(app, ["--home", str(proj), "init", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["created"] is True
