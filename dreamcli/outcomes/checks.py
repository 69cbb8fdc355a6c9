"""Deterministic checks (docs/outcomes.md, "Specs"; adding one: docs/architecture.md), run first and needing no model.

Each returns a `CriterionResult` with a short reason and the evidence it relied on. A check that cannot
run (no workdir recorded, file outside the workdir or not a regular file, a file read only in part,
command timeout, a regex search not started or stopped at REGEX_TIMEOUT_S, JSON nested deeper than
Python's recursion limit lets it be parsed or validated) fails: no evidence, no pass. A check of a
workdir that is not here at all says so (`workdir_not_here`); `grade` leaves it unjudged rather than
failed (dreamcli/outcomes/grading.py), as that is the grading machine's state, not the run's. Reasons
and evidence are redacted whole and only then cut (a secret cut in half is no longer recognised by the
store's redactor).

The `regex` check's search, bounded in time, is dreamcli/outcomes/bounded_regex.py; the `command` check
is dreamcli/outcomes/command_check.py.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dreamcli.outcomes.bounded_regex import RegexNotRun, bounded_search
from dreamcli.outcomes.check_types import CHECK_KINDS
from dreamcli.outcomes.command_check import RunningCommands, run_command_check
from dreamcli.outcomes.evidence import RunView, subagents_left_out
from dreamcli.outcomes.grade_record import NOT_HERE
from dreamcli.outcomes.spec import Check, Criterion
from dreamcli.outcomes.workdir_files import NOT_FOUND, TRUNCATED, read_workdir_text, stat_workdir_file
from dreamcli.redaction import Redactor, default_redactor
from dreamcli.textnorm import nfc

READ_LIMIT = 10 * 1024 * 1024
EVIDENCE_LIMIT = 200
REASON_LIMIT = 500  # a check's reason, and a grader's (scoring.py), as stored in grades.jsonl
TOO_DEEP = "JSON nested too deeply (beyond Python's recursion limit)"


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


def run_criterion_check(criterion: Criterion, run: RunView, *, running: RunningCommands | None = None,
                        redactor: Redactor | None = None) -> CriterionResult:
    assert criterion.check is not None
    passed, reason, evidence = run_check(criterion.check, run, running=running, redactor=redactor)
    if criterion.check.type != "command":  # a command's evidence is the end of its output, cut already
        evidence = evidence[:EVIDENCE_LIMIT]
    return CriterionResult(criterion.id, passed, reason, evidence, criterion.weight, "check")


def run_check(check: Check, run: RunView, *, running: RunningCommands | None = None,
              redactor: Redactor | None = None) -> tuple[bool, str, str]:
    """(passed, reason, evidence) with `negate` applied; `running` tracks command checks (to kill them on
    an interrupt). Reason and evidence are redacted with `redactor` (default: the built-in rules) before
    anything is cut; the reason is cut at REASON_LIMIT."""
    red = redactor or default_redactor()
    gone = workdir_not_here(check, run)
    if gone is not None:
        passed, reason, evidence = None, gone, ""
    elif check.type == "command":
        passed, reason, evidence = run_command_check(check, run, running, red)
    else:
        passed, reason, evidence = RUNNERS[check.type](check, run, red)
    reason = clip(red.redact_text(reason), REASON_LIMIT)
    if check.negate and passed is not None:
        return (not passed), f"negated: {reason}", evidence
    return bool(passed), reason, evidence


def workdir_not_here(check: Check, run: RunView) -> str | None:
    """Why a check that reads the workdir cannot run when the session's workdir is not a folder here (moved,
    removed, or another machine's: the bundled samples' `/home/ana/…`); None when it can. Said as such, not as
    "summary.md does not exist", which reads as the run's failure."""
    reads = CHECK_KINDS[check.type]
    if reads == "totals" or (reads == "answer or file" and check.target_is_answer) or not run.workdir:
        return None
    if os.path.isdir(run.workdir):
        return None
    return f"the session's workdir {run.workdir} {NOT_HERE}"


def not_judged(check: Check, run: RunView, redactor: Redactor | None = None) -> str | None:
    """The reason, redacted and cut as a check's, that `grade` cannot judge `check` at all (the session's
    workdir is not here); None when the check can run, even if it then cannot read its file."""
    gone = workdir_not_here(check, run)
    return None if gone is None else clip((redactor or default_redactor()).redact_text(gone), REASON_LIMIT)


def clip(text: str, limit: int) -> str:
    """`text` cut at `limit` characters (redact it first)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Each runner returns (passed | None, reason, evidence); None means the check could not run (fails
# even when negated). Evidence that shows the run's text is redacted with the Redactor it is given.
Outcome = tuple[bool | None, str, str]
Runner = Callable[[Check, RunView, Redactor], Outcome]


def _target(check: Check, run: RunView) -> tuple[str | None, str]:
    if check.target_is_answer:
        if run.final_answer is None:
            return None, "the run has no final answer"
        return run.final_answer, "answer"
    text, note = read_workdir_text(run.workdir, check.in_, limit=READ_LIMIT)
    if text is None:
        return None, f"{check.in_}: {note}"
    if note == TRUNCATED:  # what was not read may hold the value (or not): the check cannot run
        return None, f"{check.in_}: only the first {_size(READ_LIMIT)} could be read (the file is larger)"
    return text, check.in_


def _size(n: int) -> str:
    mib = 1024 * 1024
    return f"{n // mib} MiB" if n % mib == 0 else f"{n} bytes"


def _contains(check: Check, run: RunView, red: Redactor) -> Outcome:
    text, where = _target(check, run)
    if text is None:
        return None, where, ""
    text, value = nfc(text), nfc(str(check.value))
    i = text.find(value)
    if i < 0:
        return False, f"{where} does not contain {value!r}", ""

    def again(safe: str) -> tuple[int, int] | None:
        j = safe.find(value)
        return (j, j + len(value)) if j >= 0 else None

    return True, f"{where} contains {value!r}", _match_evidence(text, i, i + len(value), red, again)


def _regex(check: Check, run: RunView, red: Redactor) -> Outcome:
    text, where = _target(check, run)
    if text is None:
        return None, where, ""
    text, pattern = nfc(text), re.compile(nfc(str(check.value)))
    try:
        span = bounded_search(pattern, text)
    except RegexNotRun as e:
        return None, f"{where}: /{check.value}/ {e}", ""
    if span is None:
        return False, f"{where} has no match for /{check.value}/", ""

    def again(safe: str) -> tuple[int, int] | None:
        try:
            return bounded_search(pattern, safe)
        except RegexNotRun:  # the evidence is then cut about where the match was
            return None

    return True, f"{where} matches /{check.value}/", _match_evidence(text, *span, red, again)


def _match_evidence(text: str, start: int, end: int, red: Redactor,
                    again: Callable[[str], tuple[int, int] | None]) -> str:
    """The text around a match, cut from the whole text redacted (the match found again in it, or, when
    the redaction took it, about where it was)."""
    safe = red.redact_text(text)
    if safe is text:
        return _around(text, start, end)
    span = again(safe)
    if span is None:
        at = min(len(red.redact_text(text[:start])), len(safe))
        span = (at, at)
    return _around(safe, *span)


def _file_exists(check: Check, run: RunView, red: Redactor) -> Outcome:
    st, why = stat_workdir_file(run.workdir, check.in_)
    if st is None:  # nothing there: the run's failure; anything else: the check could not look
        return (False if why == NOT_FOUND else None), f"{check.in_}: {why}", ""
    return True, f"{check.in_} exists", f"{st.st_size} bytes"


def _json_schema(check: Check, run: RunView, red: Redactor) -> Outcome:
    from jsonschema.validators import validator_for

    text, where = _target(check, run)
    if text is None:
        return None, where, ""
    try:
        data = json.loads(text)
    except RecursionError:
        return None, f"{where}: {TOO_DEEP} to parse", ""
    except ValueError as e:
        return False, f"{where} is not valid JSON: {e}", red.redact_text(text)[:EVIDENCE_LIMIT]
    schema = check.resolved_schema or {}
    validator = validator_for(schema)(schema)
    try:  # the validator recurses with the data (and with a recursive schema, as deep as the data goes)
        error = next(iter(validator.iter_errors(data)), None)
    except RecursionError:
        return None, f"{where}: {TOO_DEEP} to check against the schema", ""
    if error is not None:
        at = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return False, f"{where} does not match the schema at {at}: {red.redact_text(error.message)}", ""
    return True, f"{where} matches the schema", ""


def _budget(name: str, attr: str, fmt: str) -> Runner:
    """A budget check on the run's total of `attr`: the session's own plus its sub-agents' (when they were
    read: `evidence.add_subagents`), the reason saying what was added and which named sessions were not."""
    def runner(check: Check, run: RunView, red: Redactor) -> Outcome:
        own = getattr(run, attr)
        kids = run.subagents
        actual = own + (getattr(kids.totals, attr) if kids is not None else 0)
        limit = check.value
        shown = fmt.format(actual)
        parts = ""
        notes = subagents_left_out(run)
        if kids is not None and (kids.count or notes):
            more = "".join(f"; {note}" for note in notes)
            parts = f" (lead {fmt.format(own)} + {kids.count} sub-agent{'' if kids.count == 1 else 's'}{more})"
        if actual <= limit:
            return True, f"{name} {shown}{parts} <= {fmt.format(limit)}", shown
        return False, f"{name} {shown}{parts} > {fmt.format(limit)}", shown

    return runner


def _around(text: str, start: int, end: int) -> str:
    lo = max(0, start - 60)
    hi = min(len(text), max(end, start + 1) + 60)
    return ("…" if lo else "") + text[lo:hi].replace("\n", " ") + ("…" if hi < len(text) else "")


# A runner for every type of check_types.CHECK_TYPES but `command` (run_command_check, which also takes the
# commands running: run_check); tests/outcomes/test_check_types.py keeps the two lists the same.
RUNNERS: dict[str, Runner] = {
    "contains": _contains,
    "regex": _regex,
    "file_exists": _file_exists,
    "json_schema": _json_schema,
    "max_turns": _budget("turns", "turns", "{}"),
    "max_cost_usd": _budget("cost", "cost_usd", "${:.4f}"),
    "max_tool_errors": _budget("tool errors", "tool_errors", "{}"),
}
