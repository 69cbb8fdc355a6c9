"""Untrusted text (playbook and proposal fields, evidence excerpts, reviewer names, audit lines) prints as
it is: Rich markup in it is never parsed (`[/]` crashed the error line on a terminal), and terminal control
sequences in it never reach the terminal raw (they could retitle the window, clear the screen, or hide
and fake lines)."""

from __future__ import annotations

import io
import re
import sys

import pytest

from dreamcli.ui import console
from dreamcli.ui.audit_view import render_verify
from dreamcli.ui.console import error_line, neutralise_controls, warn
from dreamcli.ui.playbook_trail_view import render_audit, render_history
from dreamcli.ui.playbooks_view import render_diff, render_playbook_view

ESCAPES = ["\x1b]0;TITLE\x07", "\x1b[2J", "\x1b[1A\x1b[2K", "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
           "\x9b2J", "\r"]


class _Tty(io.StringIO):
    """A stream that says it is a terminal: the consoles print with colour and markup, as on a real one."""

    def isatty(self) -> bool:
        return True


def _tty(monkeypatch: pytest.MonkeyPatch, which: str) -> _Tty:
    """sys.stdout or sys.stderr as a terminal (set in the test itself: pytest's capture resets what a
    fixture set), with fresh consoles."""
    stream = _Tty()
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, which, stream)
    monkeypatch.setattr(console, "_cache", {})
    return stream


def _no_raw_controls(text: str) -> None:
    """No control character but the newline survives, apart from the colour codes (ESC [ ... m) Rich writes."""
    bare = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", bare), repr(bare)


# --- the shared helper ------------------------------------------------------------------------------


def test_neutralise_controls_shows_each_control_character_visibly() -> None:
    assert neutralise_controls("plain text, ünïcode → ok") == "plain text, ünïcode → ok"
    assert neutralise_controls("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert neutralise_controls("t\x1b]0;TITLE\x07") == "t\\x1b]0;TITLE\\x07"
    assert neutralise_controls("c1\x9b2J del\x7f") == "c1\\x9b2J del\\x7f"
    assert neutralise_controls("two\nlines\r\nthree\tcols") == "two\nlines\nthree\tcols"  # layout kept
    assert neutralise_controls("over\rwrite") == "over\\rwrite"
    assert neutralise_controls("alice\nbob\tx", one_line=True) == "alice\\nbob x"  # one line stays one line


# --- markup in untrusted text on a terminal ------------------------------------------------------------


def test_error_line_on_a_terminal_prints_markup_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    tty_stderr = _tty(monkeypatch, "stderr")
    error_line("no playbook named '[/]x'")
    assert "no playbook named '[/]x'" in tty_stderr.getvalue()
    assert "error:" in tty_stderr.getvalue()


def test_warn_on_a_terminal_prints_markup_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    tty_stderr = _tty(monkeypatch, "stderr")
    warn("dream 01X: unknown op '[/]' and [bold]not bold[/bold]")
    text = tty_stderr.getvalue()
    assert "unknown op '[/]' and [bold]not bold[/bold]" in text and "warning:" in text


@pytest.mark.parametrize("seq", ESCAPES)
def test_messages_never_carry_control_sequences(seq: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tty_stderr = _tty(monkeypatch, "stderr")
    error_line(f"no playbook named '{seq}'")
    warn(f"bad op {seq}")
    _no_raw_controls(tty_stderr.getvalue())
    plain = io.StringIO()  # and without a terminal
    monkeypatch.setattr(sys, "stderr", plain)
    error_line(f"no playbook named '{seq}'")
    warn(f"bad op {seq}")
    _no_raw_controls(plain.getvalue())


# --- views --------------------------------------------------------------------------------------------


def _view(**entry: object) -> dict[str, object]:
    e = {"id": "pb-aaaaaa01", "section": "Tools", "text": "Use pandoc.", "helpful": 1, "harmful": 0,
         "sources": [], "first_seen": "2026-11-01", "last_seen": "2026-11-20", **entry}
    return {"name": "legal", "version": 1, "updated": "2026-11-20", "tokens": 10, "description": "d",
            "scope": {}, "entries": [e]}


def test_playbook_view_prints_seen_dates_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    render_playbook_view(_view(first_seen="[/]", last_seen="[bold]x"))
    assert "seen [/] → [bold]x" in capsys.readouterr().out


@pytest.mark.parametrize("seq", ESCAPES)
def test_playbook_view_neutralises_controls(seq: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tty_stdout = _tty(monkeypatch, "stdout")
    render_playbook_view(_view(text=f"Use {seq} pandoc.\nSecond line.", section=f"T{seq}", first_seen=seq))
    text = tty_stdout.getvalue()
    _no_raw_controls(text)
    assert "Second line." in text


def test_verify_prints_notes_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    render_verify({"ok": True, "lines": 1, "chained_lines": 1, "legacy_lines": 0, "breaks": [], "playbooks": [],
                   "notes": [{"line": 1, "note": "[/]"}, {"line": 2, "note": "\x1b[2Jcleared"}, {"note": ["x"]}]})
    err = capsys.readouterr().err
    assert "line 1: [/]" in err and "\\x1b[2Jcleared" in err and "\x1b" not in err


def test_verify_neutralises_controls_in_breaks_and_playbooks(capsys: pytest.CaptureFixture[str]) -> None:
    render_verify({"ok": False, "lines": 1, "chained_lines": 1, "legacy_lines": 0,
                   "breaks": [{"line": 1, "reason": "bad\x1b[1A\x1b[2K"}],
                   "playbooks": [{"ok": False, "playbook": "le\x1b]0;T\x07gal", "reason": "x\ny"}], "notes": []})
    captured = capsys.readouterr()
    _no_raw_controls(captured.out.replace("\n", " "))


def _item(**kw: object) -> dict[str, object]:
    item = {"change": "added", "target": "playbook", "entry_id": "pb-new00001", "section": "Lessons",
            "old_text": None, "new_text": "A lesson.", "reason": "recurring", "support": {"sessions": 2},
            "evidence": [{"session_id": "01JD0Q8Z3V6M4T2N8K5R7W9XAB", "seq": 3, "excerpt": "ran it"}],
            "evidence_total": 1, "lint": [{"severity": "warn", "rule": "r", "message": "m"}],
            "taint": ["web"], "conflict": "the live entry changed"}
    item.update(kw)
    return item


def _dream(item: dict[str, object]) -> list[dict[str, object]]:
    return [{"dream_id": "01JD3Z0000000000000000ESC1", "playbook": "legal", "live_version": 1, "base_version": 1,
             "status": "pending", "tokens_now": 1, "tokens_after": 2, "operations": [item], "lint": []}]


@pytest.mark.parametrize("field", ["new_text", "reason", "section", "excerpt", "old_text", "conflict"])
@pytest.mark.parametrize("seq", ESCAPES)
@pytest.mark.parametrize("terminal", [False, True])
def test_diff_neutralises_controls(field: str, seq: str, terminal: bool, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    value = f"before {seq} after"
    item = _item(**{field: value}) if field != "excerpt" else _item(
        evidence=[{"session_id": "01JD0Q8Z3V6M4T2N8K5R7W9XAB", "seq": 3, "excerpt": value}])
    stream = _tty(monkeypatch, "stdout") if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    render_diff(_dream(item))
    text = stream.getvalue()
    _no_raw_controls(text)
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # without colour
    for marker in ("TAINTED", "warn r: m", "conflict:"):  # nothing hides the lines that follow
        assert marker in text


def test_diff_excerpt_with_newline_cannot_fake_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    render_diff(_dream(_item(evidence=[{"session_id": "01JD0Q8Z3V6M4T2N8K5R7W9XAB", "seq": 3,
                                        "excerpt": "ok\n  TAINTED: nothing to see"}], taint=[])))
    lines = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("  TAINTED") for line in lines)


@pytest.mark.parametrize("actor", ["eve\x1b[2J", "eve\nfake row", "eve\x1b[1A\x1b[2Kfake"])
def test_audit_and_history_names_stay_on_one_line(actor: str, capsys: pytest.CaptureFixture[str]) -> None:
    render_audit([{"ts": "2026-11-24T03:00:00Z", "action": "approve", "actor": actor, "playbook": "legal",
                   "entry_ids": ["pb-aaaaaa01"]}])
    render_history("legal", [{"version": 1, "live": True, "updated": "2026-11-24", "entries": 1, "actor": actor,
                              "action": "approve", "dream_id": "01JD3Z", "hash": "sha256:0123456789abcdef"}])
    out = capsys.readouterr().out
    _no_raw_controls(out)
    assert len(out.splitlines()) == 4, out  # a header and one row each
    assert "fake" not in "".join(line for line in out.splitlines() if "eve" not in line)


@pytest.mark.parametrize("ids", [[5, 6], {"a": 1}, 7, "pb-aaaaaa01", [None, "pb-x", ["y"]]])
def test_audit_listing_shows_wrong_typed_entry_ids(ids: object, capsys: pytest.CaptureFixture[str]) -> None:
    render_audit([{"ts": "2026-11-24T03:00:00Z", "action": "approve", "actor": "a", "entry_ids": ids}])
    assert "approve" in capsys.readouterr().out


@pytest.mark.parametrize("tty", [True, False])
def test_an_error_or_warning_is_one_line_whatever_it_quotes(tty: bool, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A file name or a server's message holding a newline cannot start a second `error:` line."""
    forged = "cc2/a.jsonl\nerror: fake line.jsonl:1: not a transcript"
    if tty:
        stream = _tty(monkeypatch, "stderr")
        error_line(forged)
        warn(forged)
        text = re.sub(r"\x1b\[[0-9;]*m", "", stream.getvalue())  # the labels' colour codes
    else:
        error_line(forged)
        warn(forged)
        text = capsys.readouterr().err
    lines = text.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("warning: ")
    assert "cc2/a.jsonl\\nerror: fake" in lines[0]
