"""Statistics written for people, the same way wherever they are shown (the pilot, `playbooks diff`, the
review page, approval's refusals): a signed delta, an interval bound that never reads 0 when it is not, a
p-value to significant figures. A leaf module: it imports nothing of dreamcli."""

from __future__ import annotations


def signed(x: float, digits: int = 2) -> str:
    """+0.30, -0.40, 0.00 (a real minus sign, for people)."""
    if round(x, digits) == 0:
        return f"{0:.{digits}f}"
    return f"+{x:.{digits}f}" if x > 0 else f"\u2212{-x:.{digits}f}"


def bound_text(x: float, digits: int = 2) -> str:
    """An interval bound as `signed`, with more places when those would read 0 but it is not (+0.005):
    whether a bound is above, below or at 0 decides the verdict and approval, so the text shows it."""
    places = digits
    while x != 0 and round(x, places) == 0 and places < 12:
        places += 1
    return signed(x, places)


def p_text(p: float, digits: int = 2, alpha: float = 0.05) -> str:
    """A p-value to `digits` significant figures (1.2e-07, never 0), with more when those would put it
    on the other side of `alpha` than it is (0.0499, not 0.05): `effect` compares the value itself."""
    for sig in range(digits, 12):
        text = f"{p:.{sig}g}"
        if (float(text) < alpha) == (p < alpha):
            return text
    return f"{p:.12g}"
