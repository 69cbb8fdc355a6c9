"""Grade reports, written as results arrive (memory stays flat for any number of sessions):

- JSON (`--json`, versioned): {"version": 1, "kind": "dreamcli.grade", "results": [...], "totals": {...}}
- JUnit XML (`--junit FILE`): one testcase per session; `<failure>` for a graded failure
  (needs_revision, failed, or a partial grade with a failed judged criterion or a check not judged because
  the session's workdir is not here), `<error>` for a grader error (unscored), `<skipped>` for a partial
  grade whose only unjudged criteria are the grader's (`--checks-only`) and whose judged ones all passed
- markdown summary (`--summary FILE`, e.g. $GITHUB_STEP_SUMMARY): totals and a row per session,
  non-satisfied sessions first, appended to what the file holds (its mode kept), the file kept under 1 MiB
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO
from xml.sax.saxutils import escape, quoteattr

from dreamcli.errors import UsageError
from dreamcli.outcomes.grading import GradeResult
from dreamcli.outcomes.scoretext import score_text, threshold_text
from dreamcli.outcomes.store import redact_record
from dreamcli.redaction import Redactor, default_redactor
from dreamcli.textnorm import strip_hidden
from dreamcli.workspace.fsutil import check_output_file, line_start, open_append, write_all, write_output_file

REPORT_VERSION = 1
SUMMARY_LIMIT = 1024 * 1024 - 4096  # bytes: below GitHub's 1 MiB step-summary limit, with room for the tail
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def result_json(res: GradeResult, redactor: Redactor | None = None) -> dict[str, Any]:
    """One result of the JSON report: the grade record, redacted (`redactor`: the config's; default: the
    built-in rules), with `failing` and `cached_trials`."""
    data = res.to_record()
    data["failing"] = res.failing
    data["cached_trials"] = res.cached_trials
    return redact_record(data, redactor or default_redactor())


def redacted(res: GradeResult, redactor: Redactor) -> GradeResult:
    """A copy of `res` with every text that came from the run or the grader redacted."""
    red = redactor.redact_text

    def opt(text: str | None) -> str | None:
        return None if text is None else red(text)

    criteria = [replace(c, id=red(c.id), reason=red(c.reason), evidence=red(c.evidence)) for c in res.criteria]
    return replace(res, session_id=red(res.session_id), outcome=red(res.outcome), criteria=criteria,
                   error=opt(res.error), explanation=red(res.explanation), task=opt(res.task),
                   outcome_path=opt(res.outcome_path), skipped=[red(s) for s in res.skipped])


@dataclass
class Totals:
    counts: Counter[str] = field(default_factory=Counter)
    sessions: int = 0
    model_trials: int = 0
    cached_trials: int = 0
    cost_usd: float = 0.0
    flaky: int = 0
    partial_failing: int = 0  # partial grades that cannot pass: a failed check, or one not judged (workdir)
    failure: tuple[str, int] | None = None  # the command failed after it started: (message, exit code)

    def add(self, res: GradeResult) -> None:
        self.sessions += 1
        self.counts[res.result] += 1
        # a partial grade that failed a judged check, or could not judge one (its workdir not here): a CI step
        # must not pass on it (with --checks-only alone, only the grader's criteria went unjudged: it may)
        self.partial_failing += int(res.result == "partial" and (bool(res.failing) or res.workdir_not_here))
        self.model_trials += res.model_trials
        self.cached_trials += res.cached_trials
        self.cost_usd += res.spent_usd  # what this command's grader calls cost, not the grades' recorded cost
        self.flaky += len(res.flaky)

    @property
    def exit_code(self) -> int:
        if self.failure is not None:
            return self.failure[1]
        if self.counts["error"]:
            return 3
        if self.counts["needs_revision"] or self.counts["failed"] or self.partial_failing:
            return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        return {"sessions": self.sessions, **{r: self.counts[r] for r in ("satisfied", "needs_revision",
                "failed", "partial", "error")}, "model_calls": self.model_trials, "cached": self.cached_trials,
                "flaky_criteria": self.flaky, "cost_usd": round(self.cost_usd, 6), "exit_code": self.exit_code}

    def line(self) -> str:
        parts = [f"{self.counts[r]} {r}" for r in ("satisfied", "needs_revision", "failed", "partial", "error")
                 if self.counts[r]]
        return (f"graded {self.sessions} session(s): {', '.join(parts) or 'none'}; "
                f"{self.model_trials} grader call(s), {self.cached_trials} from cache")


class JsonStream:
    """Writes the JSON report incrementally to a text stream."""

    def __init__(self, out: TextIO, redactor: Redactor | None = None) -> None:
        self.out = out
        self.redactor = redactor or default_redactor()
        self.n = 0
        self.closed = False
        out.write(f'{{"version": {REPORT_VERSION}, "kind": "dreamcli.grade", "results": [')

    def add(self, res: GradeResult) -> None:
        self.out.write(("," if self.n else "") + "\n  " + json.dumps(result_json(res, self.redactor),
                                                               ensure_ascii=False))
        self.n += 1

    def close(self, totals: Totals, extra: dict[str, Any] | None = None) -> None:
        """End the document; when the command failed (`totals.failure`), with its `error` message, and
        `totals.exit_code` is the code the process exits with."""
        tail = {"totals": totals.to_json(), **(extra or {})}
        if totals.failure is not None:
            tail["error"] = self.redactor.redact_text(totals.failure[0])
        self.closed = True
        self.out.write("\n], " + json.dumps(tail, ensure_ascii=False)[1:] + "\n")
        self.out.flush()


def _xml(text: str) -> str:
    return _XML_BAD.sub("?", text)


class JUnitWriter:
    def __init__(self, path: Path, redactor: Redactor | None = None, *, what: str = "--junit") -> None:
        self.path = Path(path)
        self.redactor = redactor or default_redactor()
        self.what = what
        self.spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 - closed in close()
        self.tests = self.failures = self.errors = self.skipped = 0

    def add(self, res: GradeResult) -> None:
        res = redacted(res, self.redactor)
        self.tests += 1
        name = quoteattr(_xml(f"{res.session_id}" + (f" ({res.task})" if res.task else "")))
        case = f'  <testcase classname={quoteattr(_xml("dreamcli.grade." + res.outcome))} name={name} time="0">\n'
        body = _xml("\n".join(f"{c.id}: {'pass' if c.passed else 'FAIL'}: {c.reason}" for c in res.criteria))
        if res.result == "error":
            self.errors += 1
            case += (f"    <error message={quoteattr(_xml('grader error: ' + (res.error or '')))} "
                     f'type="grader_error">{escape(body)}</error>\n')
        elif res.result == "partial" and not res.failing and not res.workdir_not_here:
            self.skipped += 1
            msg = _partial_head(res)
            case += f"    <skipped message={quoteattr(_xml(msg))}/>\n"
        elif res.result != "satisfied":
            self.failures += 1
            score, required = score_text(res.score, res.threshold), threshold_text(res.score, res.threshold)
            msg = f"{res.result}: score {score} < {required}; failing: {', '.join(res.failing)}"
            if res.result == "partial":  # failed on a judged criterion, or could not judge a check: its score
                msg = _partial_head(res) + (f"; failing: {', '.join(res.failing)}" if res.failing else "")
            case += f'    <failure message={quoteattr(_xml(msg))} type="{res.result}">{escape(body)}</failure>\n'
        else:
            case += f"    <system-out>{escape(_xml(f'score {res.score:.2f}'))}</system-out>\n"
        case += "  </testcase>\n"
        self.spool.write(case.encode("utf-8"))

    def close(self) -> None:
        head = (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="{self.tests}" failures="{self.failures}" '
                f'errors="{self.errors}">\n <testsuite name="dreamcli grade" tests="{self.tests}" '
                f'failures="{self.failures}" errors="{self.errors}" skipped="{self.skipped}">\n')
        self.spool.seek(0)
        data = head.encode("utf-8") + self.spool.read() + b" </testsuite>\n</testsuites>\n"
        self.spool.close()
        write_output_file(self.path, data, self.what)  # checked again: it may have been replaced while grading


def _partial_head(res: GradeResult) -> str:
    """The first line of a partial grade's explanation: what was judged, what was not and why."""
    return (res.explanation.splitlines() or [f"partial: not judged: {', '.join(res.skipped)}"])[0]


_STATUS_ICON = {"satisfied": "✅", "needs_revision": "❌", "failed": "❌", "partial": "◐", "error": "⚠️"}


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # C0, DEL, C1 (ESC, CSI: terminal escape codes)
_MD_SPECIAL = re.compile(r"([\\`\[\]|])")  # code spans, links and images, cell breaks (emphasis is harmless)


def _md(text: str, limit: int | None = None) -> str:
    """Untrusted text as the content of one markdown table cell: control characters stripped (line breaks
    and tabs become spaces), hidden characters removed, cut at `limit` characters before escaping (a cut
    never leaves an escape open), HTML and markdown specials (`|` included) escaped."""
    text = _CONTROL.sub(lambda m: " " if m.group() in "\t\n\r\x0b\x0c" else "", text)
    text = strip_hidden(text)[0][:limit]
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


class SummaryWriter:
    """Markdown for a CI job summary, appended to the file (a step's earlier commands write to
    $GITHUB_STEP_SUMMARY too): non-satisfied rows first, the whole file under 1 MiB."""

    def __init__(self, path: Path, *, limit: int = SUMMARY_LIMIT, redactor: Redactor | None = None,
                 what: str = "--summary") -> None:
        self.path = Path(path)
        try:  # the rows get what the file's earlier content leaves of the limit
            held = os.stat(self.path).st_size
        except OSError:
            held = 0
        self.limit = max(0, limit - held)
        self.redactor = redactor or default_redactor()
        self.what = what
        self.bad: list[str] = []
        self.good: list[str] = []
        self.size = 0
        self.omitted = 0

    def add(self, res: GradeResult) -> None:
        res = redacted(res, self.redactor)
        score = score_text(res.score, res.threshold)
        note = res.error if res.result == "error" else ", ".join(res.failing)
        more = f" (not judged: {', '.join(res.skipped)})" if res.result == "partial" else ""
        more += f" (flaky: {', '.join(res.flaky)})" if res.flaky else ""
        note = ((note or "") + more).strip()
        row = (f"| {_STATUS_ICON.get(res.result, '')} {_md(res.result)} | {_md(res.session_id)} | "
               f"{_md(res.task or '-')} | {_md(res.outcome)} | {_md(score)} | {_md(note, 300)} |\n")
        size = len(row.encode("utf-8"))
        bad = res.result != "satisfied"
        while bad and self.size + size > self.limit and self.good:  # failures matter more than passes
            self.size -= len(self.good.pop().encode("utf-8"))
            self.omitted += 1
        if self.size + size > self.limit:
            self.omitted += 1
            return
        self.size += size
        (self.good if res.result == "satisfied" else self.bad).append(row)

    def close(self, totals: Totals) -> str | None:
        """Append the summary. The rows are cut again against what the file holds now (other steps may
        have written to it while grading ran); a file with no room left for the heading gets nothing, and
        the warning to print is returned."""
        check_output_file(self.path, self.what)  # again: it may have been replaced while grading
        try:  # appended, never replaced: the file's content and mode stay (a new file is 0600)
            fd = open_append(self.path, readable=True)
            try:  # a blank line after what the file held, so the heading starts a block of its own
                held = os.fstat(fd).st_size
                if held > SUMMARY_LIMIT:
                    return f"{self.what} {self.path}: holds {held:,} bytes, no room under 1 MiB; summary not written"
                sep = line_start(fd) + b"\n" if held else b""
                write_all(fd, sep + self._text(totals, SUMMARY_LIMIT - held).encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as e:
            raise UsageError(f"{self.what} {self.path}: cannot write it: {e.strerror or e}") from None
        return None

    def _text(self, totals: Totals, room: int) -> str:
        """The heading, the totals and the rows that fit in `room` bytes (failures first)."""
        while self.size > room and (self.good or self.bad):
            self.size -= len((self.good or self.bad).pop().encode("utf-8"))
            self.omitted += 1
        head = [f"## dreamcli grade: {totals.sessions} session(s)", "",
                "| satisfied | needs revision | failed | partial | grader errors | grader calls | cached |",
                "| --- | --- | --- | --- | --- | --- | --- |",
                f"| {totals.counts['satisfied']} | {totals.counts['needs_revision']} | {totals.counts['failed']} | "
                f"{totals.counts['partial']} | {totals.counts['error']} | {totals.model_trials} | "
                f"{totals.cached_trials} |", "",
                "| result | session | task | outcome | score | failing criteria |",
                "| --- | --- | --- | --- | --- | --- |"]
        text = "\n".join(head) + "\n" + "".join(self.bad) + "".join(self.good)
        if self.omitted:
            text += f"\n{self.omitted} more session(s) omitted to keep this summary under 1 MiB.\n"
        return text
