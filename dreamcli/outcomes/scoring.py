"""Weights, the threshold and the majority vote, applied in code (never by the grader model).

Results of one graded run (docs/grades.md):
- `satisfied`: the weight of passing criteria is at least `pass_threshold` of the total;
- `needs_revision`: below the threshold (the revision loop sends the failures back to the agent);
- `failed`: below the threshold and the run itself did not complete (error, interrupted, no end);
- `partial`: some criteria were not judged (grader criteria under `--checks-only`, checks of a workdir that
  is not here); scored over the judged weight only, never a pass;
- `error`: unscored, the grader gave no usable verdict (never counted as a pass).

The grader's own words are redacted whole, then cut (a secret cut in half is no longer recognised):
a reason at REASON_LIMIT characters, its evidence at GRADER_EVIDENCE_LIMIT, the summary at SUMMARY_LIMIT.
"""

from __future__ import annotations

from collections.abc import Sequence

from dreamcli.outcomes.checks import REASON_LIMIT, CriterionResult, clip
from dreamcli.outcomes.grader import TrialVerdicts
from dreamcli.outcomes.spec import Criterion
from dreamcli.redaction import Redactor, default_redactor

EPSILON = 1e-9
GRADER_EVIDENCE_LIMIT = 400
SUMMARY_LIMIT = 2000
INCOMPLETE_RUN = ("error", "interrupted", "incomplete")


def weighted_score(criteria: Sequence[CriterionResult]) -> float:
    total = sum(c.weight for c in criteria)
    if total <= 0:
        return 0.0
    return round(sum(c.weight for c in criteria if c.passed) / total, 6)


def decide(score: float, threshold: float, *, run_status: str = "completed") -> str:
    if score + EPSILON >= threshold:
        return "satisfied"
    return "failed" if run_status in INCOMPLETE_RUN else "needs_revision"


def majority(criteria: Sequence[Criterion], trials: Sequence[TrialVerdicts], *,
             redactor: Redactor | None = None) -> list[CriterionResult]:
    """One result per grader criterion: passed when more than half the trials say so (a tie fails);
    `flaky` when the trials disagree. Reason and evidence come from a trial that agrees with the vote,
    redacted (`redactor`, default the built-in rules) and then cut."""
    red = redactor or default_redactor()
    out = []
    n = len(trials)
    for c in criteria:
        votes = [t.verdicts[c.id] for t in trials]
        yes = sum(1 for v in votes if v.passed)
        passed = yes * 2 > n
        chosen = next(v for v in votes if v.passed == passed) if any(v.passed == passed for v in votes) else votes[0]
        tally = f" ({yes}/{n} trials passed)" if n > 1 else ""
        reason = clip(red.redact_text(chosen.reason), REASON_LIMIT - len(tally)) + tally
        evidence = red.redact_text(chosen.evidence)[:GRADER_EVIDENCE_LIMIT]
        out.append(CriterionResult(c.id, passed, reason, evidence, c.weight, "grader", flaky=0 < yes < n))
    return out


def explanation(criteria: Sequence[CriterionResult], score: float | None, threshold: float,
                summary: str = "", *, redactor: Redactor | None = None) -> str:
    """A short text for people and for the revision loop's feedback (the grader's summary redacted, then
    cut at SUMMARY_LIMIT)."""
    failing = [c for c in criteria if not c.passed]
    if score is None:
        return "not scored"
    from dreamcli.outcomes.scoretext import score_pair

    got, required = score_pair(score, threshold)
    head = f"score {got} (threshold {required})"
    if not failing:
        return f"{head}: all criteria pass."
    lines = [f"{head}; failing criteria:"]
    lines.extend(f"- {c.id}: {c.reason}" for c in failing)
    if summary:
        lines.append(clip((redactor or default_redactor()).redact_text(summary), SUMMARY_LIMIT))
    return "\n".join(lines)


def partial_explanation(criteria: Sequence[CriterionResult], not_judged: Sequence[tuple[str, str | None]]) -> str:
    """The explanation of a `partial` result: the judged `criteria`, and the criteria not judged with why
    (`(id, reason)`; a None reason is a grader criterion that `--checks-only` left out)."""
    failing = [c for c in criteria if not c.passed]
    grader = [cid for cid, why in not_judged if why is None]
    checks: dict[str, list[str]] = {}  # reason -> ids (one reason for a run's checks of a workdir not here)
    for cid, why in not_judged:
        if why is not None:
            checks.setdefault(why, []).append(cid)
    if grader and not checks:
        head = (f"partial: only the deterministic checks were run ({len(criteria) - len(failing)} of {len(criteria)} "
                f"pass); grader criteria not judged: {', '.join(grader)}")
    else:
        parts = [f"partial: {len(criteria) - len(failing)} of {len(criteria)} judged criteria pass"]
        if grader:
            parts.append(f"grader criteria not judged (--checks-only): {', '.join(grader)}")
        parts.extend(f"checks not judged: {', '.join(ids)} ({why})" for why, ids in checks.items())
        head = "; ".join(parts)
    return "\n".join([head, *(f"- {c.id}: {c.reason}" for c in failing)])
