"""Scores as text with enough digits that a comparison reads true: never `score 0.85 < 0.85`."""

from __future__ import annotations

MIN_DIGITS = 2
MAX_DIGITS = 6


def digits_for(score: float, threshold: float | None) -> int:
    """The fewest decimals (at least two) at which `score` and `threshold` print differently, unless equal."""
    if threshold is None or score == threshold:
        return MIN_DIGITS
    for d in range(MIN_DIGITS, MAX_DIGITS + 1):
        if round(score, d) != round(threshold, d):
            return d
    return MAX_DIGITS


def score_pair(score: float, threshold: float) -> tuple[str, str]:
    """`score` and `threshold` with the same number of decimals, as many as it takes to tell them apart."""
    d = digits_for(score, threshold)
    return f"{score:.{d}f}", f"{threshold:.{d}f}"


def score_text(score: float | None, threshold: float | None = None) -> str:
    """One score for display ('-' when unscored), with the digits that set it apart from its threshold."""
    if score is None:
        return "-"
    return f"{score:.{digits_for(score, threshold)}f}"


def threshold_text(score: float | None, threshold: float) -> str:
    """The threshold with as many decimals as `score_text(score, threshold)`."""
    return f"{threshold:.{digits_for(score, threshold) if score is not None else MIN_DIGITS}f}"
