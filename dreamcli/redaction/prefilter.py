"""A linear-time check that long ASCII text holds nothing any built-in rule could match.

The redactor's one scan (dreamcli.redaction.gate) enters its matcher at every pivot character, and
past `redactor.GATE_LIMIT` characters it scans rule by rule (~100 MB/s on clean text); tool outputs
and file contents of a few hundred characters and more are most of what an import redacts. When the
optional `google-re2` package is installed (`pip install 'dreamcli[fast]'`), one RE2 scan of such
text (~550 MB/s, a DFA: no backtracking) says whether any rule can match at all; only text where one
can goes on to the rules themselves. Without the package, or for text that is not ASCII, nothing
changes: `clean` answers None ("not known") and the redactor scans as before.

The scan is built from the rules' own regexes, so it cannot drift from them. `translate` rewrites a
rule's pattern into RE2 syntax matching at least every string the rule matches in ASCII text:
- lookarounds are dropped (a condition removed only widens what matches), possessive quantifiers and
  atomic groups become plain ones, and a backreference becomes a copy of the group it names;
- `\\s`, `\\d` and `\\w` become the ASCII classes Python gives them (Python's `\\s` also holds \\v and
  \\x1c-\\x1f, RE2's does not), and `[` inside a class is escaped (RE2 reads `[:` as a POSIX class);
- a bound over 64 on a repetition is lifted (`{6,512}` -> `{6,}`), which keeps the DFA small.
Anything else it does not know (conditionals, `$`, numbered backreferences) raises ValueError, and
tests/redaction/test_prefilter.py translates every built-in rule, so a new rule cannot slip past.
For ASCII text, Python's `re` and RE2 agree on the rest (classes, `.`, `\\b`, case folding), so a
miss of the scan means no rule matches: the rules' checks and vetoes only ever remove matches.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from dreamcli.redaction.catalog import BUILTIN_RULES
from dreamcli.redaction.gate import top_level_bar
from dreamcli.redaction.rules import Rule

# What Python's `re` gives each class escape on ASCII text (str patterns): `\s` is str.isspace().
_ASCII_CLASS = {
    "s": r"\t\n\x0b\x0c\r\x1c-\x1f ",
    "d": "0-9",
    "w": "0-9A-Za-z_",
}
_KEEP_ESCAPES = set("bBA.\\/-^$|?*+()[]{}ntrfv'\"`:=<>@&;,#%!~ ")
_MAX_BOUND = 64  # a repetition bound above this is lifted: RE2 would unroll it into DFA states


class _Translator:
    """One pattern's source, read left to right into RE2 syntax (see the module docstring)."""

    def __init__(self, source: str, *, consume: bool = True, groups: dict[str, str] | None = None) -> None:
        self.src = source
        self.pos = 0
        self.consume = consume  # whether a lookbehind may become what comes before (`sequence`)
        # named group -> its body, translated with every lookbehind dropped, for backreferences: a copy
        # stands where the group's text repeats, with nothing required before it
        self.groups: dict[str, str] = {} if groups is None else groups

    def error(self, what: str) -> ValueError:
        return ValueError(f"cannot translate {what} at {self.pos} of {self.src!r}")

    def alternation(self, lead: str | None) -> str:
        """Up to the `)` closing the current group (not consumed) or the end.

        `lead`: the literal the match consumed just before this point, from its start, which each
        alternative then begins with (`k(?:-a|-b)` reads as `(?:k-a|k-b)`); None when not known.
        """
        alternatives = [self.sequence(lead)]
        while self.src.startswith("|", self.pos):
            self.pos += 1
            alternatives.append(self.sequence(lead))
        return "|".join(alternatives)

    def sequence(self, lead: str | None) -> str:
        """One alternative. While all it consumed from the match's start is a literal, a lookbehind
        that ends with that literal becomes what must come before it: `-p(?<=\\s-p)` reads as `\\s-p`,
        which holds wherever the original matches, and keeps the scan from stopping at every `-p`."""
        out: list[str] = [] if lead is None else [lead]
        literal = lead
        while self.pos < len(self.src) and self.src[self.pos] not in "|)":
            ch = self.src[self.pos]
            if ch == "(":
                behind = self.lookbehind_before(literal)
                if behind is not None:
                    out.insert(0, behind)
                    literal = None
                    continue
                distribute = literal if literal is not None and self.may_distribute(bool(literal)) else None
                if distribute is not None:
                    out = []
                out.append(self.group(distribute))
                if distribute is not None or out[-1]:  # a lookaround (dropped: "") consumes nothing
                    literal = None
            elif ch == "[":
                out.append(self.char_class())
                literal = None
            elif ch == "\\":
                out.append(self.escape())
                literal = None
            elif ch in "*+?{":
                if literal:  # the quantifier binds to the last character: no longer a literal prefix
                    literal = None
                out.append(self.quantifier())
            elif ch in "$^.":
                if ch == "$":
                    raise self.error("'$'")
                out.append(ch)
                self.pos += 1
                literal = None
            else:
                out.append(ch)
                self.pos += 1
                if literal is not None:
                    literal += ch
        return "".join(out)

    def lookbehind_before(self, literal: str | None) -> str | None:
        """At `(?<=B)` where B ends with `literal`: the translated rest of B (consumed); else None."""
        if not self.consume or literal is None or not self.src.startswith("(?<=", self.pos):
            return None
        end = self.group_end(self.pos)
        body = self.src[self.pos + 4 : end]
        if not body.endswith(literal) or top_level_bar(body):  # `(?<=xa|ya)`: not one sequence
            return None
        rest = body[: len(body) - len(literal)]
        try:
            reader = _Translator(rest)
            translated = reader.alternation(None)
            if reader.pos != len(rest):
                return None
        except (ValueError, IndexError):
            return None
        self.pos = end + 1
        return f"(?:{translated})"

    def may_distribute(self, nonempty: bool) -> bool:
        """Whether the group here can take the literal before it into each alternative: a plain or
        non-capturing group with no quantifier after it (a named one keeps its body for `(?P=...)`)."""
        src = self.src
        if src.startswith(("(?=", "(?!", "(?<=", "(?<!", "(?P=", "(?>"), self.pos):
            return False
        if nonempty and src.startswith("(?P<", self.pos):
            return False
        end = self.group_end(self.pos)
        return not src.startswith(("*", "+", "?", "{"), end + 1)

    def group_end(self, start: int) -> int:
        """The index of the `)` closing the group opened at `start`."""
        depth, i, src = 0, start, self.src
        while i < len(src):
            ch = src[i]
            if ch == "\\":
                i += 2
                continue
            if ch == "[":
                i = self.class_end(i)
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        raise self.error("an unclosed group")

    def class_end(self, start: int) -> int:
        i, src = start + 1, self.src
        if src.startswith("^", i):
            i += 1
        if src.startswith("]", i):
            i += 1
        while i < len(src) and src[i] != "]":
            i += 2 if src[i] == "\\" else 1
        return i

    def escape(self) -> str:
        if self.pos + 1 >= len(self.src):
            raise self.error("a trailing backslash")
        ch = self.src[self.pos + 1]
        self.pos += 2
        if ch in _ASCII_CLASS:
            return f"[{_ASCII_CLASS[ch]}]"
        if ch.lower() in _ASCII_CLASS:
            return f"[^{_ASCII_CLASS[ch.lower()]}]"
        if ch == "x":
            code = self.src[self.pos : self.pos + 2]
            self.pos += 2
            return f"\\x{code}"
        if ch not in _KEEP_ESCAPES:
            raise self.error(f"the escape \\{ch}")
        return "\\" + ch

    def char_class(self) -> str:
        out = ["["]
        self.pos += 1
        if self.src.startswith("^", self.pos):
            out.append("^")
            self.pos += 1
        first = True
        while True:
            if self.pos >= len(self.src):
                raise self.error("an unclosed class")
            ch = self.src[self.pos]
            if ch == "]" and not first:
                self.pos += 1
                out.append("]")
                return "".join(out)
            first = False
            if ch == "\\":
                esc = self.src[self.pos + 1]
                if esc in _ASCII_CLASS:
                    out.append(_ASCII_CLASS[esc])
                    self.pos += 2
                    continue
                if esc.lower() in _ASCII_CLASS:
                    raise self.error("a negated class escape inside a class")
                out.append(self.src[self.pos : self.pos + 2])
                self.pos += 2
                continue
            out.append("\\[" if ch == "[" else "\\]" if ch == "]" else ch)
            self.pos += 1

    def quantifier(self) -> str:
        ch = self.src[self.pos]
        if ch == "{":
            end = self.src.find("}", self.pos)
            if end < 0:
                raise self.error("an unclosed repetition")
            body = self.src[self.pos + 1 : end]
            self.pos = end + 1
            low, comma, high = body.partition(",")
            if not low.isdigit() or (high and not high.isdigit()):
                raise self.error("a repetition")
            text = "{" + low + comma + ("" if not high or int(high) > _MAX_BOUND else high) + "}"
        else:
            text = ch
            self.pos += 1
        if self.src.startswith("?", self.pos):  # lazy: the same strings match
            self.pos += 1
            text += "?"
        elif self.src.startswith("+", self.pos):  # possessive: a plain quantifier matches more
            self.pos += 1
        return text

    def group(self, lead: str | None) -> str:
        """The group at `pos`, translated; `lead` (see `alternation`) goes into each alternative."""
        src, start = self.src, self.pos
        for opener in ("(?<=", "(?<!", "(?=", "(?!"):
            if src.startswith(opener, start):
                self.pos = self.group_end(start) + 1
                return ""
        if src.startswith("(?P=", start):
            end = src.index(")", start)
            ref = src[start + 4 : end]
            if ref not in self.groups:
                raise self.error(f"a backreference to an unknown group {ref!r}")
            self.pos = end + 1
            return f"(?:{self.groups[ref]})"
        name: str | None = None
        if src.startswith("(?P<", start):
            end = src.index(">", start)
            name = src[start + 4 : end]
            self.pos = end + 1
        elif src.startswith(("(?:", "(?>"), start):
            self.pos += 3
        elif src.startswith("(?", start):
            raise self.error("a group")
        else:
            self.pos += 1
        body_start = self.pos
        body = self.alternation(lead)
        if name is not None:
            plain = _Translator(self.src[body_start : self.pos], consume=False, groups=self.groups)
            self.groups[name] = plain.alternation(None)
        self.close()
        return f"(?:{body})"

    def close(self) -> None:
        if not self.src.startswith(")", self.pos):
            raise self.error("an unclosed group")
        self.pos += 1


def translate(source: str, *, ignore_case: bool = False, dot_all: bool = False) -> str:
    """`source` (a Python regex) as an RE2 pattern that matches wherever it matches in ASCII text."""
    reader = _Translator(source)
    body = reader.alternation("")
    if reader.pos != len(source):
        raise reader.error("an unbalanced ')'")
    flags = ("i" if ignore_case else "") + ("s" if dot_all else "")
    return f"(?{flags}:{body})" if flags else f"(?:{body})"


def rule_pattern(rule: Rule) -> str:
    import re

    flags = rule.regex.flags
    return translate(rule.regex.pattern, ignore_case=bool(flags & re.IGNORECASE), dot_all=bool(flags & re.DOTALL))


def scan_pattern(rules: Sequence[Rule]) -> str:
    """One RE2 pattern that matches where any of `rules` can."""
    return "|".join(rule_pattern(rule) for rule in rules)


def _re2() -> Any | None:
    try:
        return importlib.import_module("re2")
    except ImportError:
        return None


@lru_cache(maxsize=1)
def _builtin_search() -> Callable[[str], Any] | None:
    module = _re2()
    return None if module is None else module.compile(scan_pattern(BUILTIN_RULES)).search


def available() -> bool:
    """Whether the RE2 scan can run here (the optional `google-re2` package is installed)."""
    return _builtin_search() is not None


def clean(text: str) -> bool | None:
    """True when no built-in rule can match `text`, False when one may (the rules must look), None
    when the scan cannot tell (no RE2 here, or text that is not ASCII)."""
    if not text.isascii():
        return None
    search = _builtin_search()
    if search is None:
        return None
    return search(text) is None
