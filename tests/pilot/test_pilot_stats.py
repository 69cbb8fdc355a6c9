"""The pilot's statistics against values computed by hand (Wilson, exact McNemar) and seeded runs
(the paired bootstrap), and the plain words that say what an interval means."""

from __future__ import annotations

import math

import pytest

from dreamcli.figures import signed
from dreamcli.pilot.stats import lift_of, mcnemar_exact, paired_bootstrap, verdict, wilson


@pytest.mark.parametrize(("k", "n", "lo", "hi"), [
    # z = 1.959964, z^2 = 3.841459. 0/10: centre = (z^2/20)/(1 + z^2/10) = 0.19207/1.38415 = 0.13877,
    # half = z*sqrt(z^2/400)/1.38415 = 0.13877 -> (0, 0.27753)
    (0, 10, 0.0, 0.27753),
    # 5/10: centre 0.5, half = z*sqrt(0.025 + 0.0096036)/1.38415 = 1.959964*0.186021/1.38415 = 0.26341
    (5, 10, 0.23659, 0.76341),
    (10, 10, 0.72247, 1.0),
    # 8/20: p=0.4, z^2/n=0.192073; centre=(0.4+0.096036)/1.192073=0.41611;
    # half=1.959964*sqrt(0.012+0.0024009)/1.192073=1.959964*0.120004/1.192073=0.19731
    (8, 20, 0.21880, 0.61342),
])
def test_wilson_matches_hand_computed_values(k: int, n: int, lo: float, hi: float) -> None:
    got = wilson(k, n)
    assert got[0] == pytest.approx(lo, abs=5e-5) and got[1] == pytest.approx(hi, abs=5e-5)


def test_wilson_with_no_trials_knows_nothing() -> None:
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(3, 2)


@pytest.mark.parametrize(("b", "c", "p"), [
    (0, 0, 1.0),              # no discordant pair
    (0, 5, 2 / 32),           # 2 * (1/2)^5 = 0.0625
    (1, 9, 2 * 11 / 1024),    # 2 * (C(10,0) + C(10,1)) / 2^10 = 0.021484375
    (3, 3, 1.0),              # 2 * 42/64 > 1 -> 1
    (2, 8, 2 * 56 / 1024),    # 2 * (1 + 10 + 45) / 1024 = 0.109375
    (8, 2, 2 * 56 / 1024),    # symmetric
    (0, 20, 2 / 2**20),
])
def test_exact_mcnemar_matches_hand_computed_values(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=1e-12)


def test_bootstrap_is_seeded_and_degenerate_cases_are_exact() -> None:
    groups = [[(0.0, 1.0), (1.0, 1.0), (0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]]
    a = paired_bootstrap(groups, seed=11)
    assert a == paired_bootstrap(groups, seed=11)  # same seed, same interval
    assert a == (pytest.approx(-1 / 3), 0.75)  # pinned: this seed's interval (a regression check)
    lo, hi = a
    delta = (3 - 1) / 7  # candidate-only 3 pairs, baseline-only 1
    assert lo <= delta <= hi and -1 <= lo < hi <= 1
    assert paired_bootstrap([[(0.0, 1.0)] * 5]) == (1.0, 1.0)  # every pair the same: no spread
    assert paired_bootstrap([[(1.0, 1.0), (0.0, 0.0)]]) == (0.0, 0.0)
    assert paired_bootstrap([[], []]) == (-1.0, 1.0)  # no pairs: nothing is known


def test_bootstrap_interval_covers_the_truth_on_seeded_simulations() -> None:
    """Seeded runs: paired data with a true lift of 0.3 -- the 95% interval covers it in about 95%
    of 200 simulated pilots (binomial slack), and is never absurdly narrow."""
    import random

    rng = random.Random(5)
    covered = 0
    for sim in range(200):
        pairs = []
        for _ in range(40):
            u = rng.random()
            pairs.append((float(u < 0.4), float(u < 0.7)))
        lo, hi = paired_bootstrap([pairs], seed=sim, resamples=400)
        covered += lo <= 0.3 <= hi
    assert 176 <= covered <= 200  # 95% of 200 = 190; a 99.9% band of the binomial


def test_bootstrap_resamples_tasks_as_clusters() -> None:
    """Two tasks with opposite effects: resampling tasks widens the interval beyond the pairs alone."""
    helps = [(0.0, 1.0)] * 10
    hurts = [(1.0, 0.0)] * 10
    clustered = paired_bootstrap([helps, hurts], seed=1)
    pooled = paired_bootstrap([helps + hurts], seed=1)
    assert clustered[1] - clustered[0] > pooled[1] - pooled[0]


def test_lift_of_paired_outcomes() -> None:
    groups = [[(False, True)] * 6 + [(True, True)] * 3 + [(True, False)]]
    lift = lift_of(groups, seed=2)
    assert lift.delta == pytest.approx((9 - 4) / 10)
    assert (lift.baseline_only, lift.candidate_only, lift.pairs) == (1, 6, 10)
    assert lift.p_value == pytest.approx(2 * (1 + 7) / 128)  # exact McNemar b=1, c=6
    assert lift.ci95[0] <= lift.delta <= lift.ci95[1]
    data = lift.to_json()
    assert set(data) >= {"delta", "ci95", "p_value", "test"} and data["test"] == "mcnemar_exact"


def test_verdicts_in_plain_words() -> None:
    assert verdict((-0.4, 0.5), 10) == "lift unknown: CI spans \u22120.40\u2026+0.50; run more trials"
    # no p-value is no exact test: the interval alone never says helps (docs/pilot.md)
    assert verdict((0.1, 0.6), 10) == ("lift unknown: CI +0.10\u2026+0.60 is above 0 but there is no exact McNemar "
                                       "p-value to confirm it; run more trials")
    assert verdict((0.1, 0.6), 10, 0.01).startswith("the candidate helps")
    assert verdict((-0.6, -0.1), 10, 0.02).startswith("the candidate hurts")
    # 4 of 10 pairs differ, all for the candidate: the bootstrap clears 0, the exact test does not
    assert verdict((0.1, 0.7), 10, 0.125) == ("lift unknown: CI +0.10\u2026+0.70 is above 0 but the exact McNemar "
                                              "test is not significant (p = 0.12); run more trials")
    assert verdict((0.0, 0.0), 10).startswith("no lift seen")
    assert verdict((-1, 1), 0).startswith("lift unknown: no paired trials")
    assert signed(0.3) == "+0.30" and signed(-0.25) == "\u22120.25" and signed(0.001) == "0.00"
    assert math.isclose(wilson(1, 1)[0], 0.20654, abs_tol=5e-5)
