"""Paths on the command line that dreamcli cannot record or look up (an acceptance pass's F1-F3): a name
that is not UTF-8 where the path goes into the audit trail or the session index, and a name over NAME_MAX.
Each is one `error:` line naming the argument, exit 2, before anything is written; never an internal
error after the file (or half a workspace) was written without its audit record."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import UsageError
from dreamcli.workspace.userpath import user_path
from tests.portability.support import audit, exported, make_workspace, tree
from tests.support.paths import CLAUDE_CODE_SAMPLES

pytestmark = pytest.mark.usefixtures("no_model")

LONG = "a" * 300  # one name over NAME_MAX (255 bytes)


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


def non_utf8(parent: Path, name: bytes) -> Path:
    """`parent / name`, a name holding bytes that are not UTF-8 (as Python decodes it from argv)."""
    return Path(os.fsdecode(os.path.join(os.fsencode(parent), name)))


def one_line_2(r: Any, *words: str) -> str:
    assert r.exit_code == 2, (r.exit_code, r.output)
    line = r.stderr
    assert line.startswith("error: ") and line.count("\n") == 1 and "internal error" not in line, line
    for w in words:
        assert w in line, line
    return line


# --- F1: export and import of a path that is not UTF-8 ----------------------------------------------------


@pytest.mark.parametrize(("fmt", "name"), [("json", b"out\xff.json"), ("bundle", b"b\xff.tar.gz"),
                                           ("bundle", b"dir\xff"), ("memory-dir", b"mem\xff"),
                                           ("claude-md", b"CLAUDE\xff.md")])
def test_export_to_a_name_that_is_not_utf8_writes_nothing(tmp_path: Path, fmt: str, name: bytes) -> None:
    ws = make_workspace(tmp_path / "ws", sessions=False)
    target = non_utf8(tmp_path, name)
    r = run("--home", str(ws.root), "export", "-f", fmt, "-o", str(target))
    one_line_2(r, "-o", "\\xff", "not UTF-8")
    assert not os.path.lexists(target)
    assert audit(ws) == []


def test_export_into_a_file_that_is_not_utf8_leaves_it_alone(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", sessions=False)
    mine = non_utf8(tmp_path, b"CLAUDE\xff.md")
    mine.write_text("my notes\n")
    r = run("--home", str(ws.root), "export", "-f", "claude-md", "--into", str(mine))
    one_line_2(r, "--into", "CLAUDE\\xff.md")
    assert mine.read_text() == "my notes\n" and audit(ws) == []


def test_import_of_a_bundle_named_not_utf8_changes_nothing(tmp_path: Path) -> None:
    bundle = non_utf8(tmp_path, b"bundle\xff")
    exported(tmp_path, sessions=False).rename(bundle)
    dest = tmp_path / "dest"
    assert run("init", str(dest)).exit_code == 0
    home = dest / ".dreamcli"
    before = tree(home)
    r = run("--home", str(home), "import", str(bundle))
    one_line_2(r, "BUNDLE", "bundle\\xff")
    assert tree(home) == before


def test_sessions_import_from_a_directory_named_not_utf8_imports_nothing(tmp_path: Path) -> None:
    source = non_utf8(tmp_path, b"cc\xff")
    shutil.copytree(CLAUDE_CODE_SAMPLES, source)
    home = tmp_path / "ws"
    r = run("--home", str(home), "sessions", "import", "claude-code", str(source))
    one_line_2(r, "PATH", "cc\\xff")
    assert not list((home / "sessions").rglob("*.jsonl")) and not (home / "audit.jsonl").exists()


# --- F2: a workspace whose path is not UTF-8 ---------------------------------------------------------------


def test_init_in_a_directory_named_not_utf8_creates_nothing(tmp_path: Path) -> None:
    project = non_utf8(tmp_path, b"proj\xff")
    one_line_2(run("init", str(project)), "DIRECTORY", "proj\\xff", "not UTF-8")
    assert not os.path.lexists(project)
    home = non_utf8(tmp_path, b"home\xff")
    one_line_2(run("--home", str(home), "init"), "--home", "home\\xff")
    assert not os.path.lexists(home)


def test_an_existing_workspace_named_not_utf8_is_one_clear_line(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("init", str(tmp_path / "proj")).exit_code == 0
    moved = non_utf8(tmp_path, b"proj\xff")
    (tmp_path / "proj").rename(moved)
    one_line_2(run("--home", str(moved / ".dreamcli"), "sessions", "list"), "--home", "proj\\xff", "not UTF-8")
    monkeypatch.chdir(moved)  # found as the nearest .dreamcli
    one_line_2(run("sessions", "list"), "nearest .dreamcli", "proj\\xff")
    one_line_2(run("sessions", "list", "--json"), "proj\\xff")


def test_a_relative_home_from_a_folder_named_not_utf8_is_used(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`--home ../ws` names a UTF-8 workspace although the working directory's own name is not UTF-8: the
    path is checked (and recorded) with the `d\\xff/..` taken out."""
    ws = make_workspace(tmp_path / "ws", sessions=False)
    here = non_utf8(tmp_path, b"d\xff")
    here.mkdir()
    monkeypatch.chdir(here)
    r = run("--home", "../ws", "export", "-f", "json", "-o", str(tmp_path / "out.json"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out.json").is_file()
    assert [e["action"] for e in audit(ws)][-1:] == ["export"], audit(ws)
    assert "\\udcff" not in json.dumps(audit(ws)) and "/.." not in json.dumps(audit(ws)), audit(ws)


# --- F3: a name over NAME_MAX ------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    assert run("init", str(tmp_path / "p")).exit_code == 0
    return tmp_path / "p" / ".dreamcli"


@pytest.mark.parametrize(("args", "named"), [
    (("--home", LONG, "sessions", "list"), "--home"),
    (("init", LONG), "DIRECTORY"),
    (("import", LONG), "BUNDLE"),
    (("sessions", "import", "claude-code", LONG), "PATH"),
    (("sessions", "import", "codex", LONG), "PATH"),
    (("sessions", "import", "codex", "--dry-run", LONG), "PATH"),
    (("pilot", LONG, "--proposal", "x", "--yes"), "task file"),
    (("run", "--parallel", "2", LONG, LONG + "b"), "task file"),
])
def test_a_name_over_name_max_is_a_usage_error(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               args: tuple[str, ...], named: str) -> None:
    monkeypatch.chdir(tmp_path)
    full = args if args[0] == "--home" else ("--home", str(home), *args)
    one_line_2(run(*full), named, "file name too long", "300 bytes")


def test_dreamcli_home_over_name_max(tmp_path: Path) -> None:
    one_line_2(run("sessions", "list", env={"DREAMCLI_HOME": str(tmp_path / LONG)}), "DREAMCLI_HOME",
               "file name too long")


def test_user_path_names_the_argument_and_the_limit(tmp_path: Path) -> None:
    assert user_path(tmp_path / "missing", "-o") == tmp_path / "missing"
    assert user_path(non_utf8(tmp_path, b"x\xff"), "-o") == non_utf8(tmp_path, b"x\xff")  # not recorded: fine
    with pytest.raises(UsageError, match=r"^-o: \".*x\\xff\" holds bytes that are not UTF-8"):
        user_path(non_utf8(tmp_path, b"x\xff"), "-o", recorded=True)
    with pytest.raises(UsageError, match=r"path too long \(\d+ bytes; at most 4096\)"):
        user_path(tmp_path.joinpath(*["d" * 200] * 25), "PATH")  # every name short, the whole over PATH_MAX
