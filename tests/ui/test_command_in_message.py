"""A command an `error:` or `warning:` line offers to copy ("…; see: dreamcli playbooks diff ID)") can be
copied (issue: on an 80-column terminal the line broke inside it, and it lacked the `--home` that chose the
workspace, so copied into another folder it found another workspace, or none). On a terminal the command
is never split; with --home it names that workspace, quoted for a shell; off a terminal the line stays one
line. Only a command the message offers gains the --home: not a path, nor a value the user typed, that
holds the word `dreamcli`."""

from __future__ import annotations

import io
import os
import re
import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.ui import console
from dreamcli.ui.console import error_line
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream
from tests.support.run import DREAMCLI
from tests.support.terminal import in_pty

SGR = re.compile(r"\x1b\[[0-9;]*m")
DREAM = "01M98YN4QVAG70F8DYPG43VTWQ"
IDS = [f"pb-known{i:03d}" for i in range(13)]  # more than the error names: it says where to see them all
REPORTED = (f"dream {DREAM} proposes no entry pb-nosuch (it has: pb-hym7ks7z, …, pb-73phc23z … and 5 more; "
            f"see: dreamcli playbooks diff {DREAM})")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _tty(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as an 80-column terminal (set in the test itself: pytest's capture puts its own stderr back
    between a fixture and the test)."""
    stream = _Tty()
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(console, "_cache", {})
    monkeypatch.setattr(console, "_prefix", [], raising=False)
    return stream


def _lines(stream: io.StringIO) -> list[str]:
    return SGR.sub("", stream.getvalue()).splitlines()


def _workspace(root: Path) -> Workspace:
    ws = Workspace(root, "option").ensure_layout()
    write_dream(ws, DREAM, "legal", [op(i, text=f"Lesson number {i}.") for i in IDS])
    return ws


def test_on_an_80_column_terminal_the_command_stays_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _tty(monkeypatch)
    error_line(REPORTED)
    lines = _lines(tty)
    assert len(lines) > 1 and lines[0].startswith("error: dream "), lines
    assert lines[-1] == f"       dreamcli playbooks diff {DREAM})", lines  # on one line, under the text
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines), lines
    assert " ".join(" ".join(lines).split()) == "error: " + REPORTED


def test_a_command_longer_than_the_room_is_a_line_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a long --home the command no longer fits in 80 columns: it stands whole on a line of its own
    (the terminal folds it, as it folds a long path, and copies it as one line); the text goes on after it."""
    tty = _tty(monkeypatch)
    home = "/srv/agents/" + "contract-review-team/" * 3 + ".dreamcli"
    console.offer_commands_with(f"dreamcli --home {home}")
    error_line("fix the file, or empty it with: dreamcli playbooks revert legal 0 (see: dreamcli playbooks "
               "history legal) and approve again")
    lines = _lines(tty)
    assert lines == ["error: fix the file, or empty it with:",
                     f"       dreamcli --home {home} playbooks revert legal 0",
                     "       (see:",
                     f"       dreamcli --home {home} playbooks history legal)",
                     "       and approve again"], lines


@pytest.mark.parametrize("folder", ["home", "my home"])
def test_with_home_the_command_names_it_quoted_for_a_shell(tmp_path: Path, folder: str) -> None:
    """Off a terminal the error is one line, as before, its command naming the --home (quoted when the path
    has a space) so that it runs as shown from any folder; chosen by DREAMCLI_HOME, the command is as it was
    (the variable goes with the shell it is copied into)."""
    ws = _workspace(tmp_path / folder)
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-nosuch", "--yes")
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.splitlines()
    prefix, _, command = line.rpartition("; see: ")
    assert prefix.startswith(f"error: dream {DREAM} proposes no entry pb-nosuch (it has: pb-known000, "), line
    assert command == f"dreamcli --home {shlex.quote(str(ws.root))} playbooks diff {DREAM})", line
    assert shlex.split(command[:-1]) == ["dreamcli", "--home", str(ws.root), "playbooks", "diff", DREAM]

    r = CliRunner().invoke(_app(), ["playbooks", "approve", DREAM, "--entry", "pb-nosuch", "--yes"],
                           env={"DREAMCLI_HOME": str(ws.root), "DREAMCLI_ACTOR": "tester"})
    assert r.exit_code == 2, r.output
    assert r.stderr.rstrip("\n").endswith(f"; see: dreamcli playbooks diff {DREAM})"), r.stderr


def test_a_path_holding_the_word_is_not_rewritten(tmp_path: Path) -> None:
    """The workspace's own path reads like a command ("x: dreamcli doctor"): the message quotes it as it is,
    and only the command it offers names the --home."""
    root = tmp_path / "x: dreamcli doctor"
    Workspace(root, "option").ensure_layout()
    r = CliRunner().invoke(_app(), ["--home", str(root), "export", "-o", str(tmp_path / "out.tar.gz")])
    assert r.exit_code == 2, r.output
    assert r.stderr == (f"error: no playbooks to export in {root} (approve some with: dreamcli --home "
                        f"{shlex.quote(str(root))} playbooks approve)\n")


def test_a_value_the_user_typed_is_not_rewritten(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "home")
    typed = "x (dreamcli doctor)"
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", typed, "--yes")
    assert r.exit_code == 2, r.output
    assert f"proposes no entry {typed} (it has: " in r.stderr, r.stderr
    assert r.stderr.rstrip("\n").endswith(f"; see: dreamcli --home {ws.root} playbooks diff {DREAM})"), r.stderr


@pytest.mark.parametrize("typed", ["a: dreamcli init x", "--entry=a: dreamcli init x"])
def test_a_typed_value_the_match_runs_past_is_not_rewritten(tmp_path: Path, typed: str) -> None:
    """The message quotes the value ('…'): the command pattern ran on past the value's end, so a check for
    being wholly inside it let `--home` in; and a value given as --opt=VALUE was not known as typed."""
    ws = _workspace(tmp_path / "home")
    args = ["playbooks", "approve", DREAM, typed, "--yes"] if typed.startswith("--") else \
        ["playbooks", "show", typed]
    r = cli(ws, *args)
    assert r.exit_code == 2, r.output
    assert "a: dreamcli init x" in r.stderr and "a: dreamcli --home" not in r.stderr, r.stderr


def test_a_home_with_a_line_break_is_not_offered(tmp_path: Path) -> None:
    """Shown with its line break escaped, a --home path would not paste back as the same path: the command is
    offered without it, as with DREAMCLI_HOME."""
    ws = _workspace(tmp_path / "line\nbreak")
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-nosuch", "--yes")
    assert r.exit_code == 2, r.output
    assert r.stderr.rstrip("\n").endswith(f"; see: dreamcli playbooks diff {DREAM})"), r.stderr


def test_the_hint_after_an_edit_and_the_undo_advice_name_the_home(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "my home")
    home = shlex.quote(str(ws.root))
    r = cli(ws, "playbooks", "edit", DREAM, "pb-known001", "--text", "Cite the clause by its section.")
    assert r.exit_code == 0, r.output
    assert (f"approve it with: dreamcli --home {home} playbooks approve {DREAM} --entry pb-known001"
            in " ".join(r.stderr.split())), r.stderr
    assert cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-known001", "--yes").exit_code == 0
    r = cli(ws, "playbooks", "reject", DREAM, "--entry", "pb-known001", "--reason", "no", "--yes")
    assert r.exit_code == 2, r.output
    assert r.stderr.rstrip("\n").endswith(f"to undo it: dreamcli --home {home} playbooks revert legal VERSION"), \
        r.stderr


def test_the_command_words_are_the_commands_of_dreamcli() -> None:
    from dreamcli.cli.root import MODULES

    commands = {name for names in MODULES.values() for name in names}
    assert set(console._COMMAND_WORDS.split("|")) == commands | {"--home", "--debug"}


def test_on_a_real_terminal_the_reported_command_is_whole_and_names_the_home(tmp_path: Path) -> None:
    """The report's command, in an 80-column pty: the command it offers is on one line, with its --home."""
    ws = _workspace(tmp_path / "demo" / ".dreamcli")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")
           and not k.startswith("DREAMCLI_")}
    env.update(TERM="xterm-256color", DREAMCLI_ACTOR="tester")
    text = in_pty(["sh", "-c", '"$0" "$@"; exit 0', DREAMCLI, "--home", str(ws.root), "playbooks", "approve",
                   DREAM[:6], "-e", "pb-nosuch", "--yes"], columns=80, env=env)
    lines = SGR.sub("", text).strip("\n").split("\n")
    assert lines[0].startswith(f"error: dream {DREAM} proposes no entry pb-nosuch"), lines
    command = f"dreamcli --home {ws.root} playbooks diff {DREAM})"
    assert any(line.strip() == command for line in lines), lines


def _app() -> object:
    from dreamcli.cli.app import app

    return app
