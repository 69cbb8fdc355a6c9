"""Entries and transcripts on an 80-column terminal wrap with a hanging indent (issue: `playbooks show`
and `sessions show` went on at column 0 with a trailing space, and cut `pdftotext -layout FILE.pdf -`
in two): a wrapped line continues under its text, no line ends in a space, and an inline code span that
fits on a line stays whole on one. Off a terminal the lines are printed as they were, unwrapped."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.ui import console

PDF = ('When `read` fails on a `.pdf` file with "read: FILE.pdf is N bytes, over the N-byte limit", convert it '
       'first with `pdftotext -layout FILE.pdf -`; worked in 6 of 6 sessions. Why: "The executed PDF is a scan '
       'with exhibits, over the read limit; pdftotext extracts its text layer".')
ZGREP = ('When `grep -rn -E "ERROR|FAIL" logs/` fails with "[exit code N]", run `zgrep -n -E "ERROR|FAIL" '
         'logs/*.log.gz` instead; worked in 5 of 5 sessions.')
SGR = re.compile(r"\x1b\[[0-9;]*m")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _stdout(monkeypatch: pytest.MonkeyPatch, *, tty: bool, columns: int = 80) -> io.StringIO:
    stream: io.StringIO = _Tty() if tty else io.StringIO()
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(console, "_cache", {})
    return stream


def _lines(stream: io.StringIO) -> list[str]:
    return SGR.sub("", stream.getvalue()).splitlines()


def _words(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


def _entry(text: str, entry_id: str = "pb-0hsheakh") -> dict[str, Any]:
    return {"section": "Tool workarounds", "id": entry_id, "text": text, "helpful": 0, "harmful": 0,
            "sources": ["s1", "s2"], "first_seen": "2026-10-01", "last_seen": "2026-10-29"}


def _playbook(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"name": "default", "version": 1, "updated": "2026-12-07T07:25:05Z", "tokens": 1273,
            "description": "", "scope": {}, "entries": list(entries)}


def _block(lines: list[str], first: str) -> list[str]:
    """The line starting with `first` and the lines that continue it (indented deeper than it starts)."""
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("    ") or line.lstrip().startswith("helpful "):
            break
        block.append(line)
    return block


# --- the wrapping itself -------------------------------------------------------------------------------


def test_keep_spans_glues_only_a_code_span_that_fits() -> None:
    from dreamcli.ui.prose import keep_spans

    glued, glue = keep_spans("run `a b c` or `" + "x " * 40 + "` now", 20)
    assert glue and "`a" + glue + "b" + glue + "c`" in glued
    assert glued.count(glue) == 2  # the long span keeps its spaces: it is broken between its words
    assert keep_spans("no code here", 20) == ("no code here", "")


def test_prose_wrap_keeps_a_code_span_whole() -> None:
    from dreamcli.ui.prose import wrap

    lines = wrap(ZGREP, 80, indent="    ")
    assert lines[1].startswith("    `zgrep -n -E"), lines  # not "`zgrep" alone at the end of the first line
    assert any('`zgrep -n -E "ERROR|FAIL" logs/*.log.gz`' in line for line in lines), lines
    assert all(len(line) <= 80 for line in lines)
    assert _words(lines) == _words([ZGREP])


def test_print_hanging_keeps_styles_and_indents_under_the_text() -> None:
    from rich.console import Console

    from dreamcli.ui.prose import print_hanging

    buf = io.StringIO()
    con = Console(file=buf, width=40, force_terminal=True, color_system="standard")
    print_hanging(con, "  [cyan]pb-1[/]  " + "word " * 12 + "[red]end[/]")
    text = buf.getvalue()
    assert "\x1b[36mpb-1" in text and "\x1b[31mend" in text  # the styles survive the wrapping
    lines = SGR.sub("", text).splitlines()
    assert [len(line) <= 40 and line == line.rstrip() for line in lines] == [True] * len(lines) and len(lines) > 1
    assert all(line.startswith("    word") for line in lines[1:]), lines


def test_a_transcript_line_never_breaks_inside_a_duration() -> None:
    from rich.console import Console

    from dreamcli.ui.sessions_view import _say

    buf = io.StringIO()
    _say(Console(file=buf, width=76, force_terminal=True), "  → bash " + "x" * 61 + " [dim](389 ms)[/]")
    assert SGR.sub("", buf.getvalue()).splitlines() == ["  → bash " + "x" * 61, "    (389 ms)"]


# --- playbooks show ------------------------------------------------------------------------------------


def test_playbooks_show_wraps_entries_with_a_hanging_indent(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.playbooks_view import render_playbook_view

    stream = _stdout(monkeypatch, tty=True)
    render_playbook_view(_playbook(_entry(PDF), _entry("Second paragraph follows.\n" + PDF, "pb-2")))
    lines = _lines(stream)
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines), lines
    block = _block(lines, "  pb-0hsheakh  When `read`")
    assert len(block) >= 3 and all(line.startswith("    ") and line[4] != " " for line in block[1:]), block
    assert _words(block) == _words([f"pb-0hsheakh {PDF}"])
    assert any("`pdftotext -layout FILE.pdf -`" in line for line in block), block
    second = _block(lines, "  pb-2  Second paragraph")
    assert second[1].startswith("    When `read`") and all(line.startswith("    ") for line in second[1:]), second
    meta = [line for line in lines if "helpful 0" in line]
    assert meta and all(line.startswith("    helpful 0 · harmful 0 · 2 sessions") for line in meta)


def test_playbooks_show_off_a_terminal_keeps_one_line_per_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.playbooks_view import render_playbook_view

    stream = _stdout(monkeypatch, tty=False)
    render_playbook_view(_playbook(_entry(PDF), _entry("one\ntwo", "pb-2")))
    assert stream.getvalue().splitlines() == [
        "default  v1  updated 2026-12-07T07:25:05Z  ~1273 tokens", "", "Tool workarounds",
        f"  pb-0hsheakh  {PDF}", "    helpful 0 · harmful 0 · 2 sessions · seen 2026-10-01 → 2026-10-29",
        "  pb-2  one", "    two", "    helpful 0 · harmful 0 · 2 sessions · seen 2026-10-01 → 2026-10-29"]


def test_playbooks_lint_wraps_a_finding_under_its_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.playbooks_view import render_lint

    stream = _stdout(monkeypatch, tty=True)
    message = "the entry names " + "a command that is not allowed here and " * 4 + "`rm -rf build/`"
    render_lint("default", [{"entry_id": "pb-0hsheakh", "severity": "warn", "rule": "command", "message": message}],
                1)
    lines = _lines(stream)
    assert len(lines) > 1 and lines[0].startswith("pb-0hsheakh warn command: the entry names")
    assert all(line.startswith("    ") and len(line) <= 80 and line == line.rstrip() for line in lines[1:]), lines
    assert any("`rm -rf build/`" in line for line in lines), lines


# --- sessions show -------------------------------------------------------------------------------------


def _transcript() -> list[dict[str, Any]]:
    error = ("read: nda-bluefin-2024.docx: not valid UTF-8 text (only images and PDFs are read as binary); "
             "convert it with `pandoc -t plain FILE.docx` first")
    return [
        {"type": "session.start", "session_id": "01M3VA64YJ29NCR4EKAZ1GV2VP", "ts": "2026-10-01T08:44:37.714Z",
         "source": "synthetic", "model": "claude-sonnet-5-5", "workdir": "/home/ana/matters/larkspur-2026-014",
         "task": {"name": "contract-review"}},
        {"type": "message", "role": "assistant", "content": [
            {"type": "text", "text": "The executed PDF is a scan with exhibits, over the read limit; pdftotext "
                                     "extracts its text layer, so I run `pdftotext -layout FILE.pdf -` next."},
            {"type": "tool_use", "id": "t1", "name": "bash",
             "input": {"command": "pdftotext -layout supply-agreement-oakridge-2023.pdf -"}},
            {"type": "tool_use", "id": "t2", "name": "read", "input": {"file_path": "nda-bluefin-2024.docx"}}]},
        {"type": "tool", "tool_use_id": "t1", "duration_ms": 389},
        {"type": "message", "role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "SUPPLY AGREEMENT\n\nThis Agreement is made "
             "between Larkspur Retail Group Ltd and the counterparty named below, on the terms that follow."},
            {"type": "tool_result", "tool_use_id": "t2", "is_error": True, "content": error}]},
    ]


def test_sessions_show_wraps_with_a_hanging_indent(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.sessions_view import render_transcript

    stream = _stdout(monkeypatch, tty=True)
    render_transcript(_transcript(), SimpleNamespace(skipped=0), [], [])
    lines = _lines(stream)
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines), lines
    at = {line.lstrip().split(" ")[0]: i for i, line in reversed(list(enumerate(lines)))}
    assert lines[at["task:"] + 1] == "    /home/ana/matters/larkspur-2026-014", lines
    assert lines[at["assistant"] + 1].startswith("    ") and lines[at["assistant"] + 1][4] != " ", lines
    assert any("`pdftotext -layout FILE.pdf -`" in line for line in lines), lines  # a code span whole
    assert lines[at["→"]].startswith('  → bash {"command": "pdftotext -layout')
    assert lines[at["→"] + 1] == "    (389 ms)" or lines[at["→"]].endswith("(389 ms)"), lines  # never "(389" alone
    agreement = next(i for i, line in enumerate(lines) if line.startswith("    This Agreement"))
    assert lines[agreement + 1].startswith("    ") and lines[agreement + 1][4] != " ", lines
    error = next(i for i, line in enumerate(lines) if line.startswith("  ✗ error read:"))
    assert lines[error + 1].startswith(" " * 10) and lines[error + 1][10] != " ", lines  # under the error's text
    assert any("`pandoc -t plain FILE.docx`" in line for line in lines[error:]), lines


def test_sessions_show_off_a_terminal_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.sessions_view import render_transcript

    stream = _stdout(monkeypatch, tty=False)
    render_transcript(_transcript(), SimpleNamespace(skipped=0), [], [])
    lines = stream.getvalue().splitlines()
    assert lines[1] == ("task: contract-review  model: claude-sonnet-5-5  workdir: "
                        "/home/ana/matters/larkspur-2026-014")
    assert lines[3] == '  → bash {"command": "pdftotext -layout supply-agreement-oakridge-2023.pdf -"} (389 ms)'
    assert lines[5:7] == ["  ✓ SUPPLY AGREEMENT", ""]
    assert lines[7] == ("    This Agreement is made between Larkspur Retail Group Ltd and the counterparty named "
                        "below, on the terms that follow.")
    assert lines[8].startswith("  ✗ error read: nda-bluefin-2024.docx: not valid UTF-8") and len(lines) == 9


# --- audit --verify ------------------------------------------------------------------------------------


def test_audit_verify_wraps_a_break_under_its_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.audit_view import render_verify

    stream = _stdout(monkeypatch, tty=True)
    reason = "the record's prev_hash does not match the hash of line 11; " * 3
    render_verify({"ok": False, "lines": 12, "chained_lines": 12, "legacy_lines": 0,
                   "breaks": [{"line": 12, "reason": reason}], "playbooks": [], "notes": []})
    lines = _lines(stream)
    start = next(i for i, line in enumerate(lines) if line.startswith("  ✗ line 12: the record"))
    assert lines[start + 1].startswith("    ") and lines[start + 1][4] != " ", lines
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines), lines


# --- sessions import --dry-run, run --parallel's failures ---------------------------------------------


def test_import_dry_run_wraps_a_file_line_under_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.ui.portability_view import render_import_dry_run

    stream = _stdout(monkeypatch, tty=True)
    line = {"path": "/home/ana/.claude/projects/-home-ana-matters-larkspur/0b9a3c1e-5d2f.jsonl", "transcript": True,
            "empty": False, "already_imported": False, "sessions": 1, "statuses": ["completed"],
            "lines": {"read": 2, "unknown": {}},
            "totals": {"turns": 12, "tool_calls": 30, "tool_errors": 2, "tool_unanswered": 0}}
    render_import_dry_run({"reports": [line], "sessions": 1, "would_import": 1, "files_with_unknown_lines": 0})
    lines = _lines(stream)
    assert len(lines) == 2 and lines[0].startswith("/home/ana/.claude/projects/"), lines
    assert lines[1].startswith("    ") and lines[1][4] != " " and lines[1] == lines[1].rstrip(), lines


def test_parallel_failures_wrap_under_their_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.orchestration.batch import BatchRun
    from dreamcli.ui.parallel_view import render_batch_summary

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    stderr = _Tty()
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.setattr(console, "_cache", {})
    why = "model error: the API answered 529 overloaded five times; retry later or lower --parallel"
    render_batch_summary([BatchRun(index=0, task="contract-review", file=None, status="error", error=why)])
    lines = _lines(stderr)
    start = next(i for i, line in enumerate(lines) if line.startswith("  ✗ contract-review: model error"))
    assert lines[start + 1].startswith("    ") and lines[start + 1][4] != " ", lines
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines), lines


# --- the commands on a real terminal -------------------------------------------------------------------


def _starts_of_lines(text: str) -> set[str]:
    return {line for line in text.splitlines() if line and not line[0].isspace()}


@pytest.mark.slow
def test_playbooks_and_sessions_show_on_a_pty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a real 80-column terminal: no line wider than 80 or ending in a space; a line at column 0 is
    always the start of one of the piped output's lines (a wrapped line is indented); a code span that
    fits on a line is whole on one."""
    from dreamcli.cli.app import app
    from tests.support.run import DREAMCLI, cli_env
    from tests.support.terminal import in_pty

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ws = tmp_path / "ws"
    runner = CliRunner()
    for args in (["init", "--with-samples"], ["dream", "--offline", "-q"], ["playbooks", "approve", "--all", "--yes"]):
        result = runner.invoke(app, ["--home", str(ws), *args])
        assert result.exit_code == 0, result.output
    env = cli_env(None, ws, TERM="xterm-256color")
    for name in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    sessions = runner.invoke(app, ["--home", str(ws), "sessions", "list", "--json"]).stdout
    ids = re.findall(r'"session_id": "([0-9A-Z]{26})"', sessions)[:3]
    wrapped = 0
    for args in (["playbooks", "show", "default"], *(["sessions", "show", sid] for sid in ids)):
        piped = runner.invoke(app, ["--home", str(ws), *args]).stdout
        lines = SGR.sub("", in_pty([DREAMCLI, *args], columns=80, env=env)).splitlines()
        assert lines and all(len(line) <= 80 for line in lines), lines
        if any(line.startswith("sub-agents (") for line in lines):  # the sub-agents' tree: Rich's own layout
            lines = lines[:next(i for i, line in enumerate(lines) if line.startswith("sub-agents ("))]
        assert all(line == line.rstrip() for line in lines), lines
        starts = [line for line in _starts_of_lines("\n".join(lines))]
        assert all(any(p.startswith(line) for p in _starts_of_lines(piped)) for line in starts), (args, lines)
        spans = {s for s in re.findall(r"`[^`\n]+`", piped) if len(s) <= 60}
        assert all(any(s in line for line in lines) for s in spans), (args, spans, lines)
        wrapped += len(lines) - len(piped.splitlines())
    assert wrapped > 0  # some line did wrap
