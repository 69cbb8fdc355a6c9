"""Which way a correction points: what it asks for and what it forbids, so that "Always cite the page
number" and "Don't cite the page number; cite the section" are never one entry (nor each other's
support), and a conflict between them can be reported instead of either being proposed.

A negation (don't, do not, never, no longer, stop, avoid, not, no, instead of, rather than, prefer … over)
forbids the words after it up to the end of its clause. A negation that only describes what happened ("you did not
cite…", "it isn't…") forbids nothing: such a complaint asks for the thing. Nor does a double negative
("don't forget to…") or "not just". Two texts are opposed when one asks for a larger share of what the
other forbids (the words only its negation names: "page") than of what the other asks for instead (the
words only outside it: "section"); the shares, not whole phrases, because a negated clause often names
more than its contrast ("don't cite the page number for each clause; cite the section number").
Pure functions over short texts; run once per dream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from dreamcli.words import stems

_NEGATION = re.compile(
    r"(?i)\b(?:(?P<aux>did|does|do|is|are|was|were|has|have|had)(?:n'?t|\s+not)"
    r"|don'?t|do\s+not|never|no\s+longer|stop|avoid|instead\s+of|rather\s+than|over|not(?!\s+(?:just|only)\b)"
    r"|no(?!\s*[,.!:;—–-]|\s*$))\b")
# "do not" is a prescription; "did not", "isn't" describe what happened (a complaint that asks for it)
_PRESCRIBES = frozenset({"do"})
_DOUBLE = re.compile(r"(?i)^\s*(?:forget|omit|skip|miss|leave\s+out|drop|ignore|neglect)\b")
_PREFER = re.compile(r"(?i)\bprefer")
_CLAUSE_END = re.compile(r"(?i)[,;:.!?()]|\b(?:but|instead|rather)\b")
POLARITY_WORDS = frozenset({"always", "never", "don", "dont", "stop", "avoid", "longer", "instead", "rather"})
TOPIC_OVERLAP = 0.6  # share of the smaller text's words two opposite corrections must share to be on one topic


@dataclass(frozen=True)
class Polarity:
    asks: frozenset[str]  # stems outside any negation's scope
    forbids: tuple[frozenset[str], ...]  # per negation: the stems only it names (not asked for elsewhere)
    instead: frozenset[str]  # stems only outside every negation (what it asks for and never negates)

    topic: frozenset[str] = field(init=False, repr=False, compare=False)  # every stem it names

    def __post_init__(self) -> None:  # compared pairwise across groups: made once
        object.__setattr__(self, "topic", self.asks | frozenset().union(*self.forbids))


@lru_cache(maxsize=4096)  # a correction is compared with several groups: read once
def polarity(text: str) -> Polarity:
    """What `text` asks for and what it forbids (see the module doc)."""
    text = text.replace("\u2019", "'")
    scopes: list[str] = []
    kept: list[str] = []
    pos = 0
    for m in _NEGATION.finditer(text):
        if m.start() < pos or (m.group().lower() == "over" and not _PREFER.search(text, 0, m.start())):
            continue  # inside the scope of an earlier negation; "over" contrasts only after "prefer"
        end = _CLAUSE_END.search(text, m.end())
        stop = end.start() if end else len(text)
        kept.append(text[pos:m.start()])
        rest = text[m.end():stop]
        if (m.group("aux") and m.group("aux").lower() not in _PRESCRIBES) or _DOUBLE.match(rest):
            kept.append(rest)  # a description or a double negative: it asks for what follows
        else:
            scopes.append(rest)
        pos = stop
    kept.append(text[pos:])
    asks = stems(" ".join(kept)) - POLARITY_WORDS
    named = [stems(x) - POLARITY_WORDS for x in scopes]
    forbids = tuple(s for s in (n - asks for n in named) if s)
    return Polarity(asks, forbids, asks - frozenset().union(*named))


def _against(a: Polarity, b: Polarity) -> bool:
    """Does `b` ask for more of what `a` forbids than of what `a` asks for instead? (What `b` asks
    for: only words it never negates; "not by page: page numbers change" is not asking for pages.)"""
    wants = b.instead
    instead = len(wants & a.instead) / len(a.instead) if a.instead else 0.0
    return any(wants & s and len(wants & s) / len(s) > instead for s in a.forbids)


def opposed(a: Polarity, b: Polarity) -> bool:
    """Does one of the two ask for what the other forbids?"""
    return _against(a, b) or _against(b, a)


def same_topic(a: Polarity, b: Polarity) -> bool:
    """Enough words in common (two, and most of the shorter text's) to be about the same thing."""
    ta, tb = a.topic, b.topic
    shared = len(ta & tb)
    return shared >= 2 and shared / min(len(ta), len(tb)) >= TOPIC_OVERLAP
