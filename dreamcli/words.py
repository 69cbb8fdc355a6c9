"""Words of a text as a set of crude stems, and how much two such sets share.

Used to tell that two entries (or a candidate and an entry) say the same thing, and by lint to
see a forbidden phrase said in other words. No dependencies: any layer may use it.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z][a-z0-9]+")
_STOP = """a an and are as at be by but can could did do does for from had has have he her his i if in into is it
its me my no nor not of on or our out please so than that the their them then there these they this those to too up
us was we were what when where which while who will with would you your yes also just very here now again"""
STOPWORDS = frozenset(_STOP.split())


def stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def stems(text: str) -> frozenset[str]:
    """Content-word stems of a text (lower-cased, stopwords dropped, light suffix stripping)."""
    return frozenset(stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the smaller set found in the larger (containment)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
