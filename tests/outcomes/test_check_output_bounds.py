"""Pathological input to the checks: JSON nested deeper than Python recurses fails its `json_schema` check as
one that cannot run (never an `error` grade, exit 3); a `command` check's output is read from a pipe with only
its end kept (no temporary file that a command printing without end grows until the disk is full); its
evidence is the last 400 characters of the output, as docs/outcomes.md says, the final line included."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.outcomes.checks import run_check, run_criterion_check
from dreamcli.outcomes.command_output import OUTPUT_TAIL, OutputTail
from dreamcli.outcomes.evidence import RunView
from dreamcli.outcomes.spec import Check, Criterion, load_spec
from dreamcli.redaction import Redactor
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import make_session, write_spec

KEY = "sk-ant-api03-" + "Zq7xK2mPw9LbT4vRn8YcHd3Fs6GjA1eUo5NiQ0Wk" * 2 + "Vb7Xr2Lp9TmAA"
RECURSIVE = '{"$defs": {"l": {"type": "array", "items": {"$ref": "#/$defs/l"}}}, "$ref": "#/$defs/l"}'
DEEP = 600  # parses (json's limit is about 1000) but a recursive schema validates it deeper than Python recurses


def _criterion(tmp_path: Path, yaml_check: str) -> Criterion:
    spec = load_spec(write_spec(tmp_path / "c.yaml", f"name: c\ncriteria:\n  - id: c\n    check: {yaml_check}\n"))
    assert spec.criteria[0].check is not None
    return spec.criteria[0]


def _check(tmp_path: Path, yaml_check: str) -> Check:
    check = _criterion(tmp_path, yaml_check).check
    assert check is not None
    return check


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    d = tmp_path / "wd"
    d.mkdir()
    return d


@pytest.mark.parametrize("depth", [DEEP, 5000])  # 5000: deeper than json.loads itself goes
@pytest.mark.parametrize("negate", [False, True])
def test_json_nested_too_deep_fails_as_a_check_that_cannot_run(tmp_path: Path, wd: Path, depth: int,
                                                               negate: bool) -> None:
    (wd / "dx.json").write_text("[" * depth + "]" * depth)
    check = _check(tmp_path, f"{{type: json_schema, in: dx.json, value: {RECURSIVE}, negate: {str(negate).lower()}}}")
    passed, reason, evidence = run_check(check, RunView(session_id="S", workdir=str(wd)))
    assert passed is False and "dx.json: JSON nested too deeply" in reason, reason
    assert "\n" not in reason and len(reason) < 200 and evidence == ""
    # the same nesting, shallow enough, is checked as usual
    (wd / "dx.json").write_text("[" * 50 + "]" * 50)
    assert run_check(check, RunView(session_id="S", workdir=str(wd)))[0] is not negate


def test_deep_json_grade_goes_on_with_the_other_criteria(ws: Workspace, tmp_path: Path) -> None:
    """`grade --checks-only` over JSON too deep to validate: that criterion fails, the other is judged, exit 1
    (the run's failure), not `error` and exit 3 (grader/model infrastructure)."""
    spec = write_spec(tmp_path / "deep.yaml", "name: deep\ncriteria:\n"
                      f"  - id: schema\n    check: {{type: json_schema, in: dx.json, value: {RECURSIVE}}}\n"
                      "  - id: done\n    check: {type: contains, value: Done}\n")
    sid = make_session(ws, workdir=tmp_path / "a", files={"dx.json": "[" * DEEP + "]" * DEEP})
    r = CliRunner().invoke(app, ["--home", str(ws.root), "grade", sid, "--outcome", str(spec), "--checks-only",
                                 "--json"])
    assert r.exit_code == 1, r.output
    res = json.loads(r.stdout)["results"][0]
    assert res["result"] == "needs_revision" and not res.get("error")
    by_id = {c["id"]: c for c in res["criteria"]}
    assert by_id["schema"]["passed"] is False and "nested too deeply" in by_id["schema"]["reason"]
    assert by_id["done"]["passed"] is True


def test_command_evidence_is_the_last_400_characters(tmp_path: Path, wd: Path) -> None:
    """30 progress lines then the line naming the failure: the evidence ends with that line (it used to be
    characters 400..200 from the end) and is the output's last 400 characters."""
    crit = _criterion(tmp_path, "{type: command, run: 'for i in $(seq 0 29); do echo \"tests/test_mod_$i.py "
                                "........ [ $i%]\"; done; echo \"=== 1 failed: test_refund_rounding ===\"; exit 1'}")
    res = run_criterion_check(crit, RunView(session_id="S", workdir=str(wd)))
    lines = [f"tests/test_mod_{i}.py ........ [ {i}%]" for i in range(30)] + ["=== 1 failed: test_refund_rounding ==="]
    assert res.passed is False and "exited 1" in res.reason
    assert res.evidence == "\n".join(lines)[-OUTPUT_TAIL:]


def test_command_evidence_of_one_long_line_is_its_end(tmp_path: Path, wd: Path) -> None:
    """Output of one line longer than what is kept (a progress bar redrawn with \\r): its end, not nothing."""
    crit = _criterion(tmp_path, "{type: command, run: \"head -c 600000 /dev/zero | tr '\\\\0' a; echo END; exit 2\"}")
    res = run_criterion_check(crit, RunView(session_id="S", workdir=str(wd)))
    assert res.passed is False and "exited 2" in res.reason
    assert res.evidence == "a" * (OUTPUT_TAIL - 3) + "END"


def test_command_evidence_is_redacted_before_it_is_cut(tmp_path: Path, wd: Path) -> None:
    (wd / "out.txt").write_text("x" * 300_000 + f"\nconnecting with token {KEY} failed\n")
    crit = _criterion(tmp_path, "{type: command, run: 'cat out.txt; exit 1'}")
    res = run_criterion_check(crit, RunView(session_id="S", workdir=str(wd)), redactor=Redactor())
    assert "[REDACTED:" in res.evidence and res.evidence.endswith("failed")
    assert "sk-ant" not in res.evidence and KEY[-12:] not in res.evidence


def _largest_open_file() -> int:
    """The size of the largest regular file this process holds open (deleted ones included)."""
    largest = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            st = os.stat(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if (st.st_mode & 0o170000) == 0o100000:
            largest = max(largest, st.st_size)
    return largest


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux's /proc")
def test_a_command_printing_without_end_fills_no_disk(tmp_path: Path, wd: Path) -> None:
    """`yes` until the timeout: nothing it prints is written to a file (it used to go to a temporary file with
    no size limit, deleted while open, so `du` did not show it)."""
    check = _check(tmp_path, "{type: command, run: 'yes', timeout: 1.5}")
    result: list[tuple[bool, str, str]] = []
    t = threading.Thread(target=lambda: result.append(run_check(check, RunView(session_id="S", workdir=str(wd)))))
    t.start()
    largest = 0
    while t.is_alive():
        largest = max(largest, _largest_open_file())
        time.sleep(0.02)
    t.join()
    assert result and result[0][0] is False and "timed out after 1.5 s" in result[0][1]
    assert largest < 8 * 1024 * 1024, f"a file of {largest} bytes was held open"


def test_a_daemon_holding_the_output_does_not_hold_the_check(tmp_path: Path, wd: Path) -> None:
    """The shell ended, but a process it started in a session of its own keeps the pipe open: the check ends
    at once (the pipe read briefly, not to its end) with the output printed so far."""
    check = _check(tmp_path, "{type: command, run: \"setsid sh -c 'echo $$ > d.pid; exec sleep 20' & "
                             "until [ -s d.pid ]; do sleep 0.02; done; echo ok\", timeout: 30}")
    t0 = time.monotonic()
    try:
        passed, reason, evidence = run_check(check, RunView(session_id="S", workdir=str(wd)))
    finally:
        deadline = time.monotonic() + 5
        while not (wd / "d.pid").exists() or not (wd / "d.pid").read_text().strip():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.kill(int((wd / "d.pid").read_text()), 9)
    assert passed and evidence == "ok", reason
    assert time.monotonic() - t0 < 5


def test_output_tail_keeps_the_last_bytes() -> None:
    out = OutputTail(10)
    for part in (b"abc", b"defghij", b"klmnop", b"", b"q"):
        out.add(part)
    assert out.data() == b"hijklmnopq" and out.total == 17 and out.cut
    small = OutputTail(10)
    small.add(b"abc")
    assert small.data() == b"abc" and not small.cut
