"""Counts in words: "1 entry", "2 entries" (never "1 entries")."""

from __future__ import annotations

_IRREGULAR = {"entry": "entries", "was": "were", "is": "are", "this": "these"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """`word` for one, its plural (given, irregular, or word + s) for any other count."""
    if n == 1:
        return word
    return many or _IRREGULAR.get(word) or word + "s"


def count(n: int, word: str, many: str | None = None) -> str:
    """`n` and the right form of `word`: count(1, "entry") == "1 entry"."""
    return f"{n} {plural(n, word, many)}"
