"""Deterministic checks (Contract 3), run first and needing no model.

Each returns a `CriterionResult` with a short reason and the evidence it relied on. A check that
cannot run (missing workdir, file outside the workdir, command timeout) fails: no evidence, no pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from dataclasses import dataclass
from typing import Any

from dreamcli.outcomes.evidence import RunView, read_workdir_text
from dreamcli.outcomes.spec import Check, Criterion

READ_LIMIT = 10 * 1024 * 1024
EVIDENCE_LIMIT = 200
OUTPUT_TAIL = 400


@dataclass
class CriterionResult:
    id: str
    passed: bool
    reason: str
    evidence: str = ""
    weight: float = 1.0
    kind: str = "check"
    flaky: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "passed": self.passed, "kind": self.kind, "weight": self.weight,
                "reason": self.reason, "evidence": self.evidence, "flaky": self.flaky}


def run_criterion_check(criterion: Criterion, run: RunView) -> CriterionResult:
    assert criterion.check is not None
    passed, reason, evidence = run_check(criterion.check, run)
    return CriterionResult(criterion.id, passed, reason, evidence[:EVIDENCE_LIMIT], criterion.weight, "check")


def run_check(check: Check, run: RunView) -> tuple[bool, str, str]:
    """(passed, reason, evidence) with `negate` applied."""
    passed, reason, evidence = _RUNNERS[check.type](check, run)
    if check.negate and passed is not None:
        return (not passed), f"negated: {reason}", evidence
    return bool(passed), reason, evidence


# Each runner returns (passed | None, reason, evidence); None means the check could not run (fails
# even when negated).
Outcome = tuple[bool | None, str, str]


def _target(check: Check, run: RunView) -> tuple[str | None, str]:
    if check.target_is_answer:
        if run.final_answer is None:
            return None, "the run has no final answer"
        return run.final_answer, "answer"
    text, note = read_workdir_text(run.workdir, check.in_, limit=READ_LIMIT)
    if text is None:
        return None, f"{check.in_}: {note}"
    return text, check.in_


def _contains(check: Check, run: RunView) -> Outcome:
    text, where = _target(check, run)
    if text is None:
        return None, where, ""
    value = str(check.value)
    i = text.find(value)
    if i < 0:
        return False, f"{where} does not contain {value!r}", ""
    return True, f"{where} contains {value!r}", _around(text, i, len(value))


def _regex(check: Check, run: RunView) -> Outcome:
    text, where = _target(check, run)
    if text is None:
        return None, where, ""
    m = re.search(str(check.value), text)
    if m is None:
        return False, f"{where} has no match for /{check.value}/", ""
    return True, f"{where} matches /{check.value}/", _around(text, m.start(), max(1, m.end() - m.start()))


def _file_exists(check: Check, run: RunView) -> Outcome:
    from dreamcli.outcomes.evidence import OutsideWorkdir, resolve_in_workdir

    if not run.workdir:
        return None, "the session recorded no workdir", ""
    try:
        target = resolve_in_workdir(run.workdir, check.in_)
    except OutsideWorkdir as e:
        return None, str(e), ""
    try:
        size = os.stat(target).st_size
    except OSError:
        return False, f"{check.in_} does not exist", ""
    return True, f"{check.in_} exists", f"{size} bytes"


def _json_schema(check: Check, run: RunView) -> Outcome:
    from jsonschema.validators import validator_for

    text, where = _target(check, run)
    if text is None:
        return None, where, ""
    try:
        data = json.loads(text)
    except ValueError as e:
        return False, f"{where} is not valid JSON: {e}", text[:EVIDENCE_LIMIT]
    schema = check.resolved_schema or {}
    validator = validator_for(schema)(schema)
    error = next(iter(validator.iter_errors(data)), None)
    if error is not None:
        at = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return False, f"{where} does not match the schema at {at}: {error.message[:200]}", ""
    return True, f"{where} matches the schema", ""


def _command(check: Check, run: RunView) -> Outcome:
    if not run.workdir or not os.path.isdir(run.workdir):
        return None, "the session's workdir does not exist", ""
    try:
        proc = subprocess.Popen(
            check.run or "", shell=True, cwd=run.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    except OSError as e:
        return None, f"cannot start the command: {e.strerror}", ""
    try:
        out, _ = proc.communicate(timeout=check.timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, f"`{check.run}` timed out after {check.timeout:g} s", ""
    tail = out.decode("utf-8", errors="replace")[-OUTPUT_TAIL:].strip()
    if proc.returncode == 0:
        return True, f"`{check.run}` exited 0", tail
    return False, f"`{check.run}` exited {proc.returncode}", tail


def _budget(name: str, attr: str, fmt: str) -> Any:
    def runner(check: Check, run: RunView) -> Outcome:
        actual = getattr(run, attr)
        limit = check.value
        shown = fmt.format(actual)
        if actual <= limit:
            return True, f"{name} {shown} <= {fmt.format(limit)}", shown
        return False, f"{name} {shown} > {fmt.format(limit)}", shown

    return runner


def _around(text: str, start: int, length: int) -> str:
    lo = max(0, start - 60)
    hi = min(len(text), start + length + 60)
    return ("…" if lo else "") + text[lo:hi].replace("\n", " ") + ("…" if hi < len(text) else "")


_RUNNERS = {
    "contains": _contains,
    "regex": _regex,
    "file_exists": _file_exists,
    "json_schema": _json_schema,
    "command": _command,
    "max_turns": _budget("turns", "turns", "{}"),
    "max_cost_usd": _budget("cost", "cost_usd", "${:.4f}"),
    "max_tool_errors": _budget("tool errors", "tool_errors", "{}"),
}
