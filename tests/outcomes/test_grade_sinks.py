"""What `dreamcli grade` writes: every sink redacted with the config's redactor, appends that survive a
file without a final newline, damaged cache entries read as misses, and a markdown summary that
session content cannot break out of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.outcomes.cache import GradeCache
from dreamcli.outcomes.grader import TrialVerdicts
from dreamcli.outcomes.grading import GradeResult
from dreamcli.outcomes.report import SummaryWriter, Totals
from dreamcli.outcomes.store import GradeAppender, iter_grades
from dreamcli.redaction import for_patterns
from dreamcli.testing import FakeAnthropic, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import GRADER_SPEC, make_session, verdict_reply, write_spec

CUSTOM = "ACME-12345678"  # only the workspace config's `redaction.patterns` knows this one
BUILTIN = "sk-ant-api03-" + "A" * 93 + "AA"


def invoke(ws: Workspace, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--home", str(ws.root), "grade", *args])


def secret_reply():  # type: ignore[no-untyped-def]
    leak = f"key {BUILTIN} and {CUSTOM}"
    return tool_reply(tool_use("record_verdicts", {
        "verdicts": [{"criterion_id": "cites-sections", "passed": False, "reason": leak, "evidence": leak},
                     {"criterion_id": "no-advice", "passed": True, "reason": leak, "evidence": leak}],
        "summary": leak}), usage={"input_tokens": 900, "output_tokens": 120})


def test_every_sink_is_redacted_with_the_config_redactor(ws: Workspace, tmp_path: Path,
                                                         fake_anthropic: FakeAnthropic) -> None:
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    sid = make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "x"}, task=f"deploy {CUSTOM}")
    ws.config_path.write_text('redaction:\n  patterns: ["ACME-[0-9]{8}"]\n')  # after the session was logged
    fake_anthropic.expect(secret_reply())
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    r = invoke(ws, sid, "--outcome", str(spec), "--json", "--junit", str(junit), "--summary", str(summary))
    assert r.exit_code == 1, r.output
    assert json.loads(r.stdout)["results"][0]["session_id"] == sid
    cache = "".join(p.read_text() for p in (ws.state_dir / "grade-cache").rglob("*.json"))
    sinks = {"stdout": r.stdout, "junit": junit.read_text(), "summary": summary.read_text(),
             "grades.jsonl": ws.grades_file.read_text(), "cache": cache}
    assert "[REDACTED:" in sinks["stdout"] and "[REDACTED:" in sinks["cache"]
    for name, text in sinks.items():
        assert BUILTIN not in text, name
        assert CUSTOM not in text, name


def test_summary_writer_redacts(tmp_path: Path) -> None:
    path = tmp_path / "s.md"
    w, totals = SummaryWriter(path, redactor=for_patterns(["ACME-[0-9]{8}"])), Totals()
    res = GradeResult(f"S-{CUSTOM}", f"o-{CUSTOM}", "h", "error", None, 1.0, task=f"t-{CUSTOM}",
                      error=f"boom {BUILTIN} {CUSTOM}")
    totals.add(res)
    w.add(res)
    w.close(totals)
    text = path.read_text()
    assert CUSTOM not in text and BUILTIN not in text and "REDACTED" in text


def test_grade_appender_starts_on_a_new_line(ws: Workspace) -> None:
    first = {"v": 1, "ts": "2026-11-24T03:00:00.000Z", "grade_id": "01JD", "session_id": "S1", "outcome": "o",
             "result": "satisfied", "score": 1.0}
    ws.grades_file.parent.mkdir(parents=True, exist_ok=True)
    ws.grades_file.write_text(json.dumps(first))  # no final newline (an editor's save, a torn write)
    with GradeAppender(ws) as app_:
        app_.append({"session_id": "S2", "outcome": "o", "result": "needs_revision", "score": 0.5})
        app_.append({"session_id": "S3", "outcome": "o", "result": "satisfied", "score": 1.0})
    assert [g["session_id"] for g in iter_grades(ws)] == ["S1", "S2", "S3"]


# --- damaged cache entries ------------------------------------------------------------------------

GOOD_ENTRY = {"verdicts": [{"criterion_id": "a", "passed": True, "reason": "r", "evidence": ""}],
              "model": "m", "usage": {"input_tokens": 5, "output_tokens": 2}, "summary": "", "batch": False}


@pytest.mark.parametrize("usage", ['{"input_tokens": "lots"}', '{"input_tokens": 1e400}', '{"input_tokens": -3}',
                                   '{"input_tokens": 1.5}', '{"input_tokens": true}', '[1, 2]', '"x"',
                                   '{"input_tokens": 1' + "0" * 30 + "}", '{"input_tokens": NaN}'])
def test_a_damaged_usage_is_a_cache_miss(ws: Workspace, usage: str) -> None:
    cache = GradeCache(ws)
    key = "ab" + "0" * 62
    cache.put(key, TrialVerdicts.from_json(GOOD_ENTRY))
    assert cache.get(key, ["a"]) is not None
    path = next((ws.state_dir / "grade-cache").rglob("*.json"))
    text = json.dumps({**GOOD_ENTRY, "usage": "USAGE"}).replace('"USAGE"', usage)
    path.write_text(text)
    assert cache.get(key, ["a"]) is None


def test_a_damaged_cache_entry_is_graded_again(ws: Workspace, tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    spec = write_spec(tmp_path / "spec.yaml", GRADER_SPEC)
    sid = make_session(ws, workdir=tmp_path / "wd", files={"summary.md": "x"})
    fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True))
    assert invoke(ws, sid, "--outcome", str(spec)).exit_code == 0
    entry = next((ws.state_dir / "grade-cache").rglob("*.json"))
    for damaged in ('{"input_tokens": "lots"}', '{"input_tokens": 1e400}'):
        data = json.loads(entry.read_text())
        entry.write_text(json.dumps(data).replace(json.dumps(data["usage"]), damaged))
        fake_anthropic.expect(verdict_reply(cites_sections=True, no_advice=True))
        r = invoke(ws, sid, "--outcome", str(spec), "--json")
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)
        assert out["results"][0]["result"] == "satisfied" and out["totals"]["model_calls"] == 1
    assert "Infinity" not in ws.grades_file.read_text()
    assert [g["result"] for g in iter_grades(ws)] == ["satisfied"] * 3


# --- the markdown summary: untrusted text stays in its cell ----------------------------------------

NASTY = "a|b\n| x | y | z | w | v |\r\x1b[31mRED\x1b[0m `code` \x9b2J\x00 <!-- hide"


def test_summary_escapes_every_field(tmp_path: Path) -> None:
    path = tmp_path / "s.md"
    w, totals = SummaryWriter(path), Totals()
    for result in ("needs_revision", "satisfied", "error"):
        res = GradeResult(NASTY, NASTY, "h", result, 0.5, 1.0, task=NASTY, error=NASTY if result == "error" else None)
        totals.add(res)
        w.add(res)
    w.close(totals)
    text = path.read_text()
    rows = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert len(rows) == 3 + 2 + 3  # the totals table, the results head, one row per session
    for row in rows[5:]:
        unescaped = row.replace("\\|", "")
        assert unescaped.count("|") == 7, row  # six cells: nothing injected a column
    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text)
    assert "`" not in text.replace("\\`", "") and "<!--" not in text


def test_summary_cut_does_not_leave_an_escape_open(tmp_path: Path) -> None:
    path = tmp_path / "s.md"
    w, totals = SummaryWriter(path), Totals()
    res = GradeResult("S1", "o", "h", "error", None, 1.0, error="x" * 299 + "|" * 10)
    totals.add(res)
    w.add(res)
    w.close(totals)
    row = [ln for ln in path.read_text().splitlines() if ln.startswith("| ")][-1]
    assert row.replace("\\|", "").count("|") == 7, row
