"""Transcripts and Managed Agents responses are untrusted: a file name, a line `type`, a status, a store
name, a memory path, an API message never carry a terminal sequence (`ESC]0;TITLE`, `ESC[2J`, a bare CR)
to the terminal, nor start a line of their own, in `sessions import` (dry run and summary) and in the
`cloud` views (docs/reliability.md)."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.importers.lines import LineCounts
from dreamcli.sessions.totals import Totals
from dreamcli.ui import console
from dreamcli.ui.cloud_view import progress_line, render_cloud_dream, render_memory_pull, render_push
from dreamcli.ui.portability_view import (
    render_bundle_import,
    render_export_result,
    render_import_dry_run,
    render_import_summary,
)

ESCAPES = ["\x1b]0;TITLE\x07", "\x1b[2J", "\x1b[1A\x1b[2K", "\x9b2J", "\r", "\x1b]8;;http://evil.example\x1b\\"]
# a value that also tries to fake a line of its own, and markup that must print as text
EVIL = "ok{seq}\nFAKE: 99 sessions imported [/]"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _stream(monkeypatch: pytest.MonkeyPatch, which: str, terminal: bool) -> io.StringIO:
    """sys.stdout or sys.stderr replaced (a terminal or not), with fresh consoles wide enough not to wrap."""
    stream: io.StringIO = _Tty() if terminal else io.StringIO()
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.setattr(sys, which, stream)
    monkeypatch.setattr(console, "_cache", {})
    return stream


def _clean(text: str) -> str:
    """The text without Rich's colour codes, checked for any other control character but the newline."""
    bare = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", bare), repr(bare)
    return bare


def _no_fake_line(text: str) -> None:
    assert not any(line.startswith("FAKE") for line in text.splitlines()), text


# --- sessions import ------------------------------------------------------------------------------------


def _dry_report(seq: str) -> dict[str, Any]:
    evil = EVIL.format(seq=seq)
    line = {"path": f"cc/{evil}.jsonl", "transcript": True, "empty": False, "already_imported": False,
            "sessions": 1, "statuses": [f"done{seq}"],
            "lines": {"read": 2, "unknown": {f"weird{seq}\ntype": 1}},
            "totals": {"turns": 1, "tool_calls": 0, "tool_errors": 0, "tool_unanswered": 0}}
    return {"reports": [line], "sessions": 1, "would_import": 1, "files_with_unknown_lines": 1}


@pytest.mark.parametrize("seq", ESCAPES)
@pytest.mark.parametrize("terminal", [False, True])
def test_import_dry_run_neutralises_file_names_and_line_types(seq: str, terminal: bool,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = _stream(monkeypatch, "stdout", terminal)
    render_import_dry_run(_dry_report(seq))
    text = _clean(stdout.getvalue())
    _no_fake_line(text)
    assert len(text.splitlines()) == 1, text  # one line per file
    assert "[/]" in text and "\\n" in text


def _summary(seq: str) -> SimpleNamespace:
    lines = LineCounts()
    lines.lines, lines.imported = 2, 1
    lines.unknown[f"weird{seq}\ntype"] = 1
    return SimpleNamespace(source="claude-code", path=f"cc{seq}[/]", files=1, transcripts=1, empty=0,
                           without_messages=0, sessions=1, children=0, already_imported=0, changed_since_import=0,
                           lines=lines, totals=Totals(), tool_unanswered=0, statuses={f"ended{seq}\nFAKE": 1},
                           bytes=100, seconds=0.1, mb_per_s=0.001)


@pytest.mark.parametrize("seq", ESCAPES)
@pytest.mark.parametrize("terminal", [False, True])
def test_import_summary_neutralises_line_types_statuses_and_path(seq: str, terminal: bool,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = _stream(monkeypatch, "stdout", terminal)
    _stream(monkeypatch, "stderr", terminal)
    render_import_summary(_summary(seq))
    text = _clean(stdout.getvalue())
    _no_fake_line(text)
    assert "weird" in text and "cc" in text and "[/]" in text


def test_import_cli_prints_no_raw_sequences_from_a_transcript(tmp_path: Path) -> None:
    """The reviewer's reproduction: a transcript named with a title sequence, an unknown line type with a
    clear-screen sequence; `--dry-run` and the import's summary both show them as escapes."""
    src = tmp_path / "cc"
    src.mkdir()
    user = {"type": "user", "timestamp": "2026-01-02T03:04:05Z", "sessionId": "s",
            "message": {"role": "user", "content": "hi"}}
    odd = {"type": "weird\x1b[2J\ntype", "timestamp": "2026-01-02T03:04:05Z"}
    (src / "ok\x1b]0;TITLE\x07\nFAKE: 99 sessions imported\r.jsonl").write_text(
        json.dumps(user) + "\n" + json.dumps(odd) + "\n")
    for extra in (["--dry-run"], []):
        r = CliRunner().invoke(app, ["--home", str(tmp_path / "ws"), "sessions", "import", "claude-code",
                                     str(src), *extra], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        text = _clean(r.stdout)
        _no_fake_line(text)
        assert "\\x1b[2J" in text
        if extra:
            assert "\\x1b]0;TITLE\\x07" in text


# --- bundles, exports ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seq", ESCAPES)
def test_bundle_import_and_export_neutralise_names(seq: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = _stream(monkeypatch, "stdout", True)
    stderr = _stream(monkeypatch, "stderr", True)
    name = f"le{seq}gal\nFAKE [/]"
    p = SimpleNamespace(name=name, action="merged", version_before=1, version_after=2, added=[1], updated=[],
                        conflicts=[{"id": f"pb{seq}", "incoming": f"text{seq}\nFAKE"}], secrets_redacted=0)
    render_bundle_import(SimpleNamespace(bundle=f"b{seq}", manifest={"created": seq, "dreamcli_version": seq},
                                         mode="merge", playbooks=[p], sessions_added=0, sessions_present=0))
    render_export_result(SimpleNamespace(playbooks=[{"name": name, "version": 1, "entries": 2}], output=f"o{seq}",
                                         history=False, sessions=0, missing_sessions=[], files=1,
                                         format=f"md{seq}", bytes=10))
    for text in (stdout.getvalue(), stderr.getvalue()):
        _no_fake_line(_clean(text))


# --- cloud -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seq", ESCAPES)
@pytest.mark.parametrize("terminal", [False, True])
def test_memory_pull_neutralises_store_name_and_paths(seq: str, terminal: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = _stream(monkeypatch, "stdout", terminal)
    stderr = _stream(monkeypatch, "stderr", terminal)
    evil = EVIL.format(seq=seq)
    render_memory_pull(SimpleNamespace(store_id=f"memstore{seq}", store_name=evil, mirror=f"memory/{seq}",
                                       written=[f"/notes/{evil}.md"], unchanged=0, removed=[f"/old{seq}\nFAKE"],
                                       redacted=[f"/x{seq}"]))
    text = _clean(stdout.getvalue())
    _clean(stderr.getvalue())
    _no_fake_line(text)
    assert len(text.splitlines()) == 4, text  # the store, the counts, one line per path
    assert "[/]" in text


@pytest.mark.parametrize("seq", ESCAPES)
def test_push_neutralises_paths_reasons_and_both_sides(seq: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = _stream(monkeypatch, "stdout", False)
    evil = EVIL.format(seq=seq)
    change = SimpleNamespace(op="update", status="done", memory_version_id=f"v{seq}", path=f"/p/{evil}",
                             source=f"pb{seq}")
    conflict = SimpleNamespace(op="update", path=f"/c/{evil}", reason=f"changed{seq}\nFAKE", expected_sha256=seq,
                               cloud_sha256=seq, cloud_version_id=seq, cloud_content=f"cloud {seq} text\nline 2",
                               local_content=f"mine {seq}")
    render_push(SimpleNamespace(dry_run=False, changes=[change], conflicts=[conflict], store_id=f"s{seq}",
                                playbook=f"pb{seq}", unchanged=0))
    text = _clean(stdout.getvalue())
    _no_fake_line(text)
    assert "line 2" in text


@pytest.mark.parametrize("seq", ESCAPES)
def test_cloud_dream_and_progress_neutralise_api_values(seq: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = _stream(monkeypatch, "stdout", False)
    stderr = _stream(monkeypatch, "stderr", False)
    evil = EVIL.format(seq=seq)
    render_cloud_dream(SimpleNamespace(note=f"note {evil}", playbook="default", store_id=f"s{seq}", dreams=[
        {"cloud_dream_id": f"dr{evil}", "dream_id": "01JD", "counts": {"create": 1, "update": 0, "retire": 0},
         "sessions": 2, "usage": {}, "output_store": f"out{evil}", "operations": []}]))
    with progress_line("dreaming") as tell:
        tell(f"split across {evil}")
        tell(SimpleNamespace(dream_id=f"dr{evil}", part=1, parts=1, status=f"running{seq}", elapsed_s=1.0,
                             usage={}))
    for text in (stdout.getvalue(), stderr.getvalue()):
        _no_fake_line(_clean(text))
    assert "split across" in stderr.getvalue() and "running" in stderr.getvalue()


@pytest.mark.parametrize("seq", ESCAPES)
def test_cloud_progress_on_a_terminal_neutralises_api_values(seq: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = _stream(monkeypatch, "stderr", True)
    evil = EVIL.format(seq=seq)
    with progress_line("dreaming") as tell:
        tell(f"message {evil}")
        tell(SimpleNamespace(dream_id=f"dr{evil}", part=1, parts=1, status=f"running{seq}", elapsed_s=1.0,
                             usage={}))
    text = re.sub(r"\x1b\[\?25[lh]|\x1b\[2K|\x1b\[1A|\r", "", stderr.getvalue())  # the status line's own redraws
    _clean(text)
