"""The statistics of a pilot (docs/pilot.md, "Statistics"): pure functions, no I/O.

- `wilson(k, n)`: the Wilson score 95% interval of a pass rate k/n.
- `mcnemar_exact(b, c)`: the exact (binomial) two-sided McNemar p-value for paired pass/fail, where
  b pairs passed only in the baseline and c only in the candidate.
- `paired_bootstrap(groups)`: a percentile 95% interval for the mean paired difference, resampling
  tasks with replacement and then the trial pairs inside each drawn task (a cluster bootstrap), with
  a seeded generator so the same data always give the same interval.
- `lift_of(groups)`: all three for one comparison; `effect` the one reading of it (helps, hurts, no
  lift seen, unknown) that the pilot's `verdict` sentence, its tables and `playbooks diff` all use.
Results keep full precision: every output formats a bound and a p-value once, from the value as computed,
with dreamcli.figures (`bound_text`, `p_text`: the digits that tell which side of 0, or of the 0.05 level,
it is on -- the side `effect` and approval read).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from dreamcli.figures import bound_text, p_text

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261205

Pair = tuple[float, float]  # (baseline, candidate) outcome of the same task and trial index


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials; (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= k <= n:
        raise ValueError(f"k={k} is not between 0 and n={n}")
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return (max(0.0, center - half), min(1.0, center + half))


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value: 2 * P(X <= min(b, c)) for X ~ Binomial(b + c, 1/2), at most 1.
    1.0 when no pair is discordant (nothing tells the arms apart)."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts are not negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, max(2 * tail / 2**n, math.ulp(0.0)))  # never 0: a float too small for it is the least one


def paired_bootstrap(groups: Sequence[Sequence[Pair]], *, resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = BOOTSTRAP_SEED, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of mean(candidate - baseline) over pairs, resampling groups (tasks) with
    replacement, then pairs inside each drawn group with replacement. Empty groups are ignored;
    with no pair at all the interval is (-1, 1) (nothing is known)."""
    diffs = [[c - b for b, c in g] for g in groups if g]
    if not diffs:
        return (-1.0, 1.0)
    rng = random.Random(seed)
    n_groups = len(diffs)
    stats: list[float] = []
    for _ in range(resamples):
        total, count = 0.0, 0
        for _g in range(n_groups):
            group = diffs[rng.randrange(n_groups)] if n_groups > 1 else diffs[0]
            size = len(group)
            for _p in range(size):
                total += group[rng.randrange(size)]
            count += size
        stats.append(total / count)
    stats.sort()
    alpha = (1 - level) / 2
    lo = stats[math.floor(alpha * resamples)]
    hi = stats[max(0, math.ceil((1 - alpha) * resamples) - 1)]
    return (lo, hi)


@dataclass(frozen=True)
class Lift:
    """Candidate minus baseline pass rate over paired trials."""

    delta: float
    ci95: tuple[float, float]
    p_value: float
    pairs: int
    baseline_only: int  # b: pairs where only the baseline passed
    candidate_only: int  # c: pairs where only the candidate passed

    def to_json(self) -> dict[str, object]:
        """Full precision: every reader formats the value once (`bound_text`, `p_text`); one rounded here
        and again there showed +0.01 for a bound of +0.005, and p = 0 for 1.2e-07."""
        return {"delta": self.delta, "ci95": [self.ci95[0], self.ci95[1]],
                "p_value": self.p_value, "test": "mcnemar_exact", "pairs": self.pairs,
                "discordant": {"baseline_only": self.baseline_only, "candidate_only": self.candidate_only},
                "ci_method": "paired cluster bootstrap (tasks, then trials), percentile, "
                             f"{BOOTSTRAP_RESAMPLES} resamples"}


def lift_of(groups: Sequence[Sequence[tuple[bool, bool]]], *, seed: int = BOOTSTRAP_SEED,
            resamples: int = BOOTSTRAP_RESAMPLES) -> Lift:
    """The lift of paired pass/fail outcomes grouped by task: delta, bootstrap CI, exact McNemar p."""
    pairs = [p for g in groups for p in g]
    n = len(pairs)
    b = sum(1 for base, cand in pairs if base and not cand)
    c = sum(1 for base, cand in pairs if cand and not base)
    delta = (sum(cand for _, cand in pairs) - sum(base for base, _ in pairs)) / n if n else 0.0
    numeric = [[(float(x), float(y)) for x, y in g] for g in groups]
    ci = paired_bootstrap(numeric, seed=seed, resamples=resamples)
    return Lift(delta=delta, ci95=ci, p_value=mcnemar_exact(b, c), pairs=n, baseline_only=b, candidate_only=c)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


HELPS, HURTS, NO_LIFT, UNKNOWN = "helps", "hurts", "no lift seen", "unknown"


def effect(ci95: Sequence[float], pairs: int, p_value: float | None, alpha: float = 0.05) -> str:
    """HELPS / HURTS when the bootstrap interval is clear of 0 *and* McNemar p < alpha (the percentile
    bootstrap is optimistic with few discordant pairs; the exact test is not; no p-value is no test),
    NO_LIFT when pairs were scored and every one ended alike (the interval is exactly 0..0), else
    UNKNOWN (no pair scored, an interval spanning 0, or a test that is not significant)."""
    lo, hi = ci95[0], ci95[1]
    if pairs <= 0:
        return UNKNOWN
    if lo == hi == 0:
        return NO_LIFT
    if (lo > 0 or hi < 0) and p_value is not None and p_value < alpha:
        return HELPS if lo > 0 else HURTS
    return UNKNOWN


def verdict(ci95: Sequence[float], pairs: int, p_value: float | None = None, alpha: float = 0.05, *,
            no_pairs: str | None = None) -> str:
    """What the interval (and the exact test) say, in plain words: `effect`, explained. `no_pairs`
    says why no pair was scored (`6 trials unscored: model errors`)."""
    lo, hi = ci95[0], ci95[1]
    span = f"{bound_text(lo)}\u2026{bound_text(hi)}"
    word = effect(ci95, pairs, p_value, alpha)
    if pairs <= 0:
        why = f" ({no_pairs})" if no_pairs else ""
        return (f"lift unknown: no paired trials were scored{why}: nothing was measured, and "
                "approval.require_lift does not count this pilot; run it again")
    if word == NO_LIFT:
        return "no lift seen: every pair ended the same in both arms; run more trials or tasks to be sure"
    if word in (HELPS, HURTS):
        return f"the candidate {word}: lift CI {span} is {'above' if word == HELPS else 'below'} 0"
    if lo > 0 or hi < 0:
        side = "above" if lo > 0 else "below"
        test = ("there is no exact McNemar p-value to confirm it" if p_value is None else
                f"the exact McNemar test is not significant (p = {p_text(p_value)})")
        return f"lift unknown: CI {span} is {side} 0 but {test}; run more trials"
    return f"lift unknown: CI spans {span}; run more trials"
