"""Review fixes in the checks and the workdir reads: redaction before cutting, partial reads, FIFOs, NUL
paths from a session (docs/outcomes.md, "Specs")."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from dreamcli.config import Config
from dreamcli.outcomes.checks import run_check, run_criterion_check
from dreamcli.outcomes.evidence import RunView, load_run, render_evidence
from dreamcli.outcomes.grading import GradeOptions, Grader, grade_path
from dreamcli.outcomes.spec import load_spec
from dreamcli.outcomes.workdir_files import read_workdir_text
from dreamcli.redaction import default_redactor
from dreamcli.sessions.paths import find_session
from dreamcli.sessions.writer import SessionWriter
from tests.support.outcomes import make_session, workspace, write_spec

TOKEN = "ghp_" + "a1B2c3D4e5" * 3 + "a1B2c3"  # a GitHub token the built-in rules redact


def _spec(tmp_path: Path, check: str, name: str = "s.yaml"):  # type: ignore[no-untyped-def]
    return load_spec(write_spec(tmp_path / name, f"name: s\ncriteria:\n  - id: c\n    check: {check}\n"))


def _no_token_part(text: str) -> None:
    assert not any(TOKEN[i:i + 10] in text for i in range(len(TOKEN) - 9)), text


def test_contains_evidence_is_redacted_before_it_is_cut(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    # the match sits so that the 60-character window cuts the token after 24 characters
    (wd / "tok.txt").write_text("x" * 100 + "MARK" + "y" * 35 + " " + TOKEN + "\n")
    spec = _spec(tmp_path, '{type: contains, in: tok.txt, value: "MARK"}')
    res = run_criterion_check(spec.criteria[0], RunView(session_id="S", workdir=str(wd)))
    assert res.passed
    _no_token_part(res.evidence)
    assert "MARK" in res.evidence


def test_regex_evidence_is_redacted_before_it_is_cut(tmp_path: Path) -> None:
    run = RunView(session_id="S", final_answer=TOKEN[:-20] + "\n" * 0 + TOKEN[-20:] + " " + "z" * 30 + " DONE")
    spec = _spec(tmp_path, '{type: regex, in: answer, value: "DONE"}')
    res = run_criterion_check(spec.criteria[0], run)
    assert res.passed
    _no_token_part(res.evidence)


def test_command_tail_is_redacted_before_it_is_cut(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    spec = _spec(tmp_path, f"{{type: command, run: \"printf '{TOKEN} '; head -c 379 /dev/zero | tr '\\\\0' x\"}}")
    passed, _reason, evidence = run_check(spec.criteria[0].check, RunView(session_id="S", workdir=str(wd)))  # type: ignore[arg-type]
    assert passed
    _no_token_part(evidence)


def test_json_schema_evidence_and_reason_are_redacted_before_they_are_cut(tmp_path: Path) -> None:
    run = RunView(session_id="S", final_answer="x" * 180 + " " + TOKEN + " not json")
    spec = _spec(tmp_path, "{type: json_schema, in: answer, value: {type: object}}")
    res = run_criterion_check(spec.criteria[0], run)
    assert not res.passed
    _no_token_part(res.evidence)
    run = RunView(session_id="S", final_answer=json.dumps({"k": "x" * 150 + " " + TOKEN}))
    spec = _spec(tmp_path, "{type: json_schema, in: answer, value: {properties: {k: {type: integer}}}}", "t.yaml")
    res = run_criterion_check(spec.criteria[0], run)
    assert not res.passed
    _no_token_part(res.reason)


def test_the_config_redactor_is_used_when_given(tmp_path: Path) -> None:
    run = RunView(session_id="S", final_answer="x" * 100 + "DONE " + "y" * 40 + "CUSTOM=ACME-123456789")
    spec = _spec(tmp_path, '{type: contains, in: answer, value: "DONE"}')
    from dreamcli.redaction import for_patterns

    res = run_criterion_check(spec.criteria[0], run, redactor=for_patterns([r"CUSTOM=ACME-\d+"]))
    assert "ACME-12" not in res.evidence


@pytest.mark.parametrize("check", [
    '{type: contains, in: big.log, value: "FORBIDDEN", negate: true}',
    '{type: regex, in: big.log, value: "FORBIDDEN_\\\\w+", negate: true}',
])
def test_negated_check_on_a_file_read_in_part_fails(tmp_path: Path, check: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import dreamcli.outcomes.checks as checks

    monkeypatch.setattr(checks, "READ_LIMIT", 1000)  # the real limit is 10 MiB
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / "big.log").write_text("ok\n" * 400 + "FORBIDDEN_MARKER\n")
    passed, reason, _ = run_check(_spec(tmp_path, check).criteria[0].check, RunView(session_id="S", workdir=str(wd)))  # type: ignore[arg-type]
    assert not passed
    assert "only the first" in reason and "big.log" in reason


def test_a_fifo_in_the_workdir_does_not_hang_the_check(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    os.mkfifo(wd / "summary.md")
    spec = _spec(tmp_path, '{type: contains, in: summary.md, value: "TERMINATION", negate: true}')
    out: list[tuple[bool, str, str]] = []
    t = threading.Thread(target=lambda: out.append(run_check(spec.criteria[0].check,  # type: ignore[arg-type]
                                                             RunView(session_id="S", workdir=str(wd)))),
                         daemon=True)
    t.start()
    t.join(5)
    if t.is_alive():  # unblock the reader so the test run can end
        with open(wd / "summary.md", "wb"):
            pass
        pytest.fail("the check hung on a FIFO")
    passed, reason, _ = out[0]
    assert not passed and "not a regular file" in reason
    text, note = read_workdir_text(str(wd), "summary.md", limit=100)
    assert text is None and "not a regular file" in note


def test_a_nul_path_from_the_session_is_no_internal_error(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    wd = tmp_path / "wd"
    wd.mkdir()
    w = SessionWriter(ws)
    w.start(task={"name": "t", "prompt": "p", "outcome": None}, model="m", workdir=str(wd), tags=[])
    w.message("assistant", [{"type": "tool_use", "id": "t1", "name": "write",
                             "input": {"file_path": "a\0b.md", "content": "x"}}], model="m", stop_reason="tool_use")
    w.message("assistant", [{"type": "text", "text": "done"}], model="m", stop_reason="end_turn")
    w.end("completed", totals={"turns": 2, "cost_usd": 0.0, "tool_errors": 0, "tool_calls": 1})
    run = load_run(find_session(ws, w.session_id))
    text = render_evidence(run, redactor=default_redactor())
    assert "done" in text
    assert read_workdir_text(str(wd), "a\0b.md", limit=10)[0] is None
    spec = _spec(tmp_path, "{type: contains, in: answer, value: done}")
    grader = Grader(ws, Config(), GradeOptions(checks_only=True))
    res = grade_path(grader, find_session(ws, w.session_id), spec)
    assert res.result == "satisfied", res.error


def test_session_with_a_token_answer_keeps_no_half_token_in_grades(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    sid = make_session(ws, answer="y" * 100 + "DONE" + "z" * 35 + " " + TOKEN)
    spec = _spec(tmp_path, '{type: contains, in: answer, value: "DONE"}')
    from dreamcli.outcomes.grading import grade_sessions

    list(grade_sessions(Grader(ws, Config(), GradeOptions(checks_only=True)), [(find_session(ws, sid), spec)]))
    _no_token_part(ws.grades_file.read_text())


def test_the_grader_cuts_evidence_after_its_config_patterns(tmp_path: Path) -> None:
    """The grader hands the checks the workspace's redactor: a custom pattern is redacted whole, before
    the 60-character window could cut it to a prefix that pattern no longer matches."""
    ws = workspace(tmp_path)
    sid = make_session(ws, answer="y" * 100 + "DONE" + "z" * 40 + "CUSTOM=ACME-123456789")
    spec = _spec(tmp_path, '{type: contains, in: answer, value: "DONE"}')
    from dreamcli.outcomes.grading import grade_sessions

    config = Config.model_validate({"redaction": {"patterns": [r"CUSTOM=ACME-\d+"]}})
    list(grade_sessions(Grader(ws, config, GradeOptions(checks_only=True)), [(find_session(ws, sid), spec)]))
    assert "ACME-12" not in ws.grades_file.read_text()
