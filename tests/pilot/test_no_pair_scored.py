"""`no_pair_scored`: the one test of a recorded lift that measured nothing, which the pilot's tables and
the diff's lift phrase share. Only a `pairs` that is the number 0 counts; a count that is missing, a
bool or not an integer is not known, which is not zero."""

from __future__ import annotations

from typing import Any

import pytest

from dreamcli.playbooks.pilot_file import no_pair_scored
from dreamcli.ui.pilot_view import lift_phrase


@pytest.mark.parametrize(("lift", "none"), [
    ({"pairs": 0}, True),
    ({"pairs": 12}, False),
    ({"pairs": None}, False),
    ({}, False),
    ({"pairs": False}, False),
    ({"pairs": 0.0}, False),
    ({"pairs": "0"}, False),
    (None, False),
    ([("pairs", 0)], False),
])
def test_only_a_count_of_zero_is_no_pair_scored(lift: Any, none: bool) -> None:
    assert no_pair_scored(lift) is none


@pytest.mark.parametrize(("pairs", "phrase"), [
    (0, "no pairs scored (6 trials unscored: model errors; alone) unknown"),
    (20, "lift 0.00 (95% CI \u22121.00\u2026+1.00, p 1, 20 pairs; alone) unknown"),
])
def test_the_lift_phrase_reads_no_pairs_by_the_same_rule(pairs: int, phrase: str) -> None:
    lift = {"delta": 0.0, "ci95": [-1.0, 1.0], "p_value": 1.0, "pairs": pairs,
            "no_pairs": "6 trials unscored: model errors"}
    assert lift_phrase(lift) == phrase
