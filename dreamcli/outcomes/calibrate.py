"""`dreamcli grade --calibrate`: grade the spec's own labelled examples and measure agreement.

Each example's output is graded as if it were a run's final answer, by the code that grades runs
(`Grader.score_run`: the same checks, grader calls, redaction and decision): grader criteria by the
model, and the deterministic checks that can read the answer (`check_types.ANSWER_CHECKS`, the types
that read `answer or file`) with `in: answer`. Checks on workdir files, commands and budgets cannot apply
to an example and are left out. A "good" example should be satisfied, a "bad" one should not.

Threshold (exit 1 below it): TPR >= 0.8 and TNR >= 0.8 and Cohen's kappa >= 0.6 ("substantial"
agreement on the Landis & Koch scale). With the few examples a spec usually has, this means every
example must be judged as labelled. A grader error on any example exits 3; a spec without at least
one good and one bad example cannot be calibrated (exit 2).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from dreamcli.errors import UsageError
from dreamcli.outcomes.check_types import ANSWER_CHECKS
from dreamcli.outcomes.evidence import RunView
from dreamcli.outcomes.grading import Grader
from dreamcli.outcomes.spec import Criterion, OutcomeSpec

MIN_TPR = 0.8
MIN_TNR = 0.8
MIN_KAPPA = 0.6


@dataclass
class CalibrationRow:
    index: int
    label: str
    predicted: str | None  # "good" (satisfied) / "bad" / None (grader error)
    score: float | None
    failing: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class CalibrationReport:
    outcome: str
    rows: list[CalibrationRow]
    tp: int = 0
    fn: int = 0
    tn: int = 0
    fp: int = 0
    errors: int = 0
    criteria_used: list[str] = field(default_factory=list)
    min_tpr: float = MIN_TPR
    min_tnr: float = MIN_TNR
    min_kappa: float = MIN_KAPPA

    @property
    def tpr(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def tnr(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else 0.0

    @property
    def kappa(self) -> float | None:
        return cohens_kappa(self.tp, self.fn, self.tn, self.fp)

    @property
    def ok(self) -> bool:
        k = self.kappa
        return self.tpr >= self.min_tpr and self.tnr >= self.min_tnr and k is not None and k >= self.min_kappa

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 3
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1, "kind": "dreamcli.calibration", "outcome": self.outcome,
            "examples": [r.__dict__ for r in self.rows],
            "confusion": {"tp": self.tp, "fn": self.fn, "tn": self.tn, "fp": self.fp}, "errors": self.errors,
            "tpr": self.tpr, "tnr": self.tnr, "kappa": self.kappa, "criteria": self.criteria_used,
            "thresholds": {"tpr": self.min_tpr, "tnr": self.min_tnr, "kappa": self.min_kappa},
            "ok": self.ok, "exit_code": self.exit_code,
        }


def cohens_kappa(tp: int, fn: int, tn: int, fp: int) -> float | None:
    """Agreement between labels and predictions beyond chance; None without any example."""
    n = tp + fn + tn + fp
    if n == 0:
        return None
    po = (tp + tn) / n
    pe = ((tp + fn) * (tp + fp) + (tn + fp) * (tn + fn)) / (n * n)
    if pe >= 1.0:
        return 1.0 if po == 1.0 else 0.0
    return (po - pe) / (1 - pe)


def _usable(c: Criterion) -> bool:
    return c.check is None or (c.check.target_is_answer and c.check.type in ANSWER_CHECKS)


def calibrate(grader: Grader, spec: OutcomeSpec) -> CalibrationReport:
    """Each example scored as `grade` scores a run (`Grader.score_run`: the same checks, grader, redaction and
    decision), on the criteria an example can meet."""
    labels = {e.label for e in spec.examples}
    if labels != {"good", "bad"}:
        raise UsageError(f"{spec.source}: examples: calibration needs at least one good and one bad example")
    used = [c for c in spec.criteria if _usable(c)]
    if grader.options.checks_only:
        used = [c for c in used if c.check is not None]
    if not used:
        raise UsageError(f"{spec.source}: no criterion can judge an example (grader criteria or checks on the answer)")
    report = CalibrationReport(spec.name, [], criteria_used=[c.id for c in used])
    for i, example in enumerate(spec.examples, start=1):
        run = RunView(session_id=f"example-{i}", final_answer=example.output, status="completed")
        run.session_hash = "example:" + hashlib.sha256(example.output.encode("utf-8")).hexdigest()
        res = grader.score_run(run, spec, used)
        row = CalibrationRow(i, example.label, None, None)
        if res.result == "error":
            row.error = res.error or res.explanation
            report.errors += 1
            report.rows.append(row)
            continue
        row.score = res.score
        row.predicted = "good" if res.result == "satisfied" else "bad"
        row.failing = res.failing
        report.rows.append(row)
        if example.label == "good":
            report.tp += row.predicted == "good"
            report.fn += row.predicted == "bad"
        else:
            report.tn += row.predicted == "bad"
            report.fp += row.predicted == "good"
    return report
