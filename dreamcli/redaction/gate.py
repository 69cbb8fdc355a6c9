"""One scan for all built-in rules: where each rule can match, found in a single pass over the text.

Each rule's regex (case-sensitive rules) or each of its locators (case-insensitive ones) starts
with a literal; one character of that literal is its pivot (`Rule.pivots`). The scan is a single
regex: one alternative per pivot character, which holds, for each anchor with that pivot, a
lookbehind for the part of the literal before the pivot and a lookahead for the rest of the
pattern, ending in an empty named group that says which rule (and which anchor) held there. re
finds the pivot characters from the set of first characters of the alternatives, a one-character
lookahead (`_follow_filter`, read from the pattern's source) turns most of them down at once, and
all the checks run in C: on clean text the scan returns no match, and Python runs only where a rule
can match.

What it finds is exactly what the rule-by-rule path tries:
- case-sensitive rules: the positions where `rule.regex` matches (the scan holds the whole regex);
- located rules: the positions where a locator matches the lower-cased text. The scan matches the
  locator on the text itself, ignoring case. For ASCII text that is the same thing; otherwise
  (`(?i)` also matches `ı` for `i` and `ſ` for `s`) each position is checked again on the
  lower-cased text. Text holding `K` (Kelvin sign, the one non-ASCII character whose lower case is
  ASCII) or `İ` (whose lower case is two characters) is left to the rule-by-rule path.

Several anchors may share a pivot character (`k`: vendor tokens, `token`, `hooks.slack.com`): the
first that holds is reported by the scan, and the later ones are checked again at that position,
so none hides another.

Speed: CPython's re looks for a set of first characters one character at a time (~2.6 ns each)
and enters the matcher at each pivot (~40 ns), where it finds a single literal prefix at memchr
speed. So the scan wins on short and middling text, where one call replaces 13 (~0.4 µs each), and
one literal scan per rule wins past a few KB: see `redactor.GATE_LIMIT` and bench/bench_redaction.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

from dreamcli.redaction.rules import Rule

# The one character whose lower case is ASCII although it is not (Kelvin sign: `k`), and the one
# whose lower case is longer (`İ`: `i̇`). Text holding either is left to the rule-by-rule path.
FOLDS_TO_ASCII = "\u212a"
LONGER_LOWER = "\u0130"

_LITERAL = re.compile(r"[A-Za-z0-9_:/ \-]+")  # characters that match themselves outside a class
_GROUP = re.compile(r"\(\?P([<=])(\w+)([>)])")
_QUANTIFIERS = "*+?{"


@dataclass(frozen=True, slots=True)
class Mark:
    """One anchor of one rule: a hit on `group` means the rule can start `offset` characters before
    the pivot. `locator` (located rules only) re-checks the position on the lower-cased text."""

    group: str
    rule: int
    offset: int
    locator: re.Pattern[str] | None


def _pattern_flags(pattern: re.Pattern[str]) -> str:
    flags = pattern.flags & ~re.UNICODE
    scoped = "".join(letter for flag, letter in ((re.DOTALL, "s"), (re.MULTILINE, "m")) if flags & flag)
    if flags & ~(re.DOTALL | re.MULTILINE):
        raise ValueError(f"flags {flags!r} of {pattern.pattern!r} cannot be scoped in the gate")
    return scoped


def _branch(pattern: re.Pattern[str], offset: int, folded: bool, tag: str) -> tuple[str, str, str]:
    """(pivot character, the checks that follow it, the pattern after it) for one anchor; group names
    get `tag` in front. A located rule's (`folded`) checks ignore case."""
    source = pattern.pattern
    head, rest = source[: offset + 1], source[offset + 1 :]
    if not _LITERAL.fullmatch(head) or (rest and rest[0] in _QUANTIFIERS):
        raise ValueError(f"pivot {offset} of {source!r} is not in its literal prefix")
    if "(?(" in rest or pattern.groups != len(pattern.groupindex):
        raise ValueError(f"{source!r}: only named groups, and no conditionals, can be renamed")
    rest = _GROUP.sub(lambda m: f"(?P{m[1]}{tag}{m[2]}{m[3]}", rest)
    if folded:
        behind, ahead = f"(?i:{head[:-1]})", f"(?i:{rest})"
    else:
        scoped = _pattern_flags(pattern)
        behind, ahead = head[:-1], f"(?{scoped}:{rest})" if scoped else rest
    checks = (f"(?<={behind}.)" if behind else "") + (f"(?={ahead})" if ahead else "")
    return head[-1], checks, rest


_ESCAPED_LITERAL = re.compile(r"\\([^A-Za-z0-9])")  # `\.`, `\-`: the character itself


def _first_char(rest: str, folded: bool) -> set[str] | None:
    """The characters `rest` (a pattern's source after its pivot) must start with, when its source
    says so plainly: one literal character, or an escaped punctuation character, not made optional
    by a quantifier. None when it is anything else (a class, a group, `\\b` ...): then any character
    may follow. Read from the source text, so no regex internals are needed; None is always safe."""
    if top_level_bar(rest):  # `abc|xyz`: the first branch's character is not needed
        return None
    m = _ESCAPED_LITERAL.match(rest)
    if m is not None:
        char, size = m[1], 2
    elif rest and _LITERAL.fullmatch(rest[0]):
        char, size = rest[0], 1
    else:
        return None
    if rest[size : size + 1] in ("*", "?", "{"):  # optional: what follows it counts too
        return None
    return {char.lower(), char.upper()} if folded else {char}


def top_level_bar(source: str) -> bool:
    """Whether `source` has an alternation outside any group (escapes and classes skipped)."""
    depth, i, in_class = 0, 0, False
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if source[i + 1 : i + 2] == "]":  # `[]...]`: a literal `]` first
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return True
        i += 1
    return False


def _follow_filter(rests: list[tuple[str, bool]]) -> str:
    """A one-character lookahead that every anchor needs after the pivot (from each anchor's pattern
    after its pivot, and whether it is folded), or "" if some anchor may be followed by anything:
    most occurrences of a pivot fail on it, before any anchor is tried."""
    chars: set[str] = set()
    for rest, folded in rests:
        first = _first_char(rest, folded)
        if first is None:
            return ""
        chars |= first
    return "(?=[" + "".join(re.escape(c) for c in sorted(chars)) + "])"


def _pivot_chars(pivot: str, folded: bool) -> list[str]:
    if not folded or not pivot.isalpha():
        return [pivot]
    return [pivot.lower(), pivot.upper()]


class Gate:
    """The scan for `rules[first:]` (after rule `first - 1` changed the text, only later rules)."""

    def __init__(self, rules: Sequence[Rule], first: int = 0) -> None:
        branches: dict[str, list[tuple[str, str, Mark]]] = {}
        for index in range(first, len(rules)):
            rule = rules[index]
            sources = rule.locators or (rule.regex,)
            pivots = rule.pivots or (0,) * len(sources)
            if len(pivots) != len(sources):
                raise ValueError(f"rule {index} ({rule.kind}): one pivot per locator (or for its regex)")
            for n, (source, offset) in enumerate(zip(sources, pivots, strict=True)):
                folded = bool(rule.locators)
                pivot, checks, rest = _branch(source, offset, folded, f"r{index}_{n}_")
                for char in _pivot_chars(pivot, folded):
                    mark = Mark(f"m{index}_{n}_{ord(char)}", index, offset, source if folded else None)
                    branches.setdefault(char, []).append((checks, rest, mark))
        alternatives = []
        # group -> (its mark, the later branches of the same pivot character, which may hold too)
        self._hits: dict[str, tuple[Mark, tuple[tuple[Mark, re.Pattern[str]], ...]]] = {}
        for char, options in branches.items():
            pivot = re.escape(char)
            inner = "|".join(f"{checks}(?P<{mark.group}>)" for checks, _, mark in options)
            follow = _follow_filter([(rest, mark.locator is not None) for _, rest, mark in options])
            alternatives.append(f"{pivot}{follow}(?:{inner})" if len(options) > 1 else pivot + follow + inner)
            for n, (_, _, mark) in enumerate(options):
                later = tuple((other, re.compile(pivot + checks)) for checks, _, other in options[n + 1 :])
                self._hits[mark.group] = (mark, later)
        self.regex = re.compile("|".join(alternatives)) if alternatives else None

    def clean(self, text: str) -> bool:
        """True when no rule can match anywhere in `text`: what `candidates` answers with `{}` for
        clean text, in one C call and no allocation. False says only "look closer"."""
        regex = self.regex
        if regex is None:
            return True
        if not text.isascii() and (LONGER_LOWER in text or FOLDS_TO_ASCII in text):
            return False
        return regex.search(text) is None

    def candidates(self, text: str) -> dict[int, list[int]] | None:
        """Rule index -> the positions where it can match (unsorted; empty for clean text), or None
        for text this scan leaves to the rule-by-rule path (it holds `İ` or `K`)."""
        regex = self.regex
        if regex is None:
            return {}
        ascii_only = text.isascii()  # O(1) for str
        if not ascii_only and (LONGER_LOWER in text or FOLDS_TO_ASCII in text):
            return None
        first = regex.search(text)  # the one pass, for clean text
        if first is None:
            return {}
        found: dict[int, list[int]] = {}
        low: str | None = None
        for m in chain((first,), regex.finditer(text, first.start() + 1)):
            pivot = m.start()
            mark, later = self._hits[m.lastgroup or ""]
            marks = [mark]
            marks += [other for other, check in later if check.match(text, pivot) is not None]
            for mark in marks:
                start = pivot - mark.offset
                if mark.locator is not None and not ascii_only:  # `(?i)` matched more than lower() would
                    low = text.lower() if low is None else low
                    if mark.locator.match(low, start) is None:
                        continue
                found.setdefault(mark.rule, []).append(start)
        return found
