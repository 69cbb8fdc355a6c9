"""The `Redactor`: applies the built-in rules plus patterns from config to text and JSON-like data.

Build one with `for_config(config)` (or `for_patterns(patterns)`): the one factory, which builds a
Redactor once per set of patterns and hands the same (immutable, thread-safe) object to every caller.

The built-in rules run on the fast path: one scan (`gate.Gate`) finds every place where any rule
can match, and each rule is tried only there, in rule order; after a rule changes the text, the
later rules are scanned for again. `_rule_by_rule` is the reference it must agree with
(tests/redaction/test_redaction_fast_path.py): one scan per rule, which is also what text longer
than `GATE_LIMIT` or holding `İ` gets, unless `prefilter` (one RE2 scan, with the optional
`google-re2` installed) finds that no rule can match it at all. Short strings found clean are
remembered (a bounded set per redactor): records repeat their keys and many values (`type`,
`user`, a tool's name, the model).
Custom patterns keep the fast path: clean short text costs the one scan and one search per pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from functools import lru_cache
from itertools import chain
from typing import Any, Protocol

from dreamcli.redaction.catalog import BUILTIN_RULES
from dreamcli.redaction.gate import Gate
from dreamcli.redaction.prefilter import clean as scan_says_clean
from dreamcli.redaction.rules import Rule, generic_kind, marker, sensitive_value_for_key

CUSTOM_KIND = "custom"
_CUSTOM_MARKER = marker(CUSTOM_KIND)
TOO_DEEP = marker("nested too deep to check")
# (secret, kind) of each replacement, while `Redactor.secrets_in` runs (None otherwise: a lookup per
# replacement, never per clean string)
_FOUND: ContextVar[list[tuple[str, str]] | None] = ContextVar("dreamcli_redaction_found", default=None)


def _secret_span(rule: Rule, m: re.Match[str]) -> tuple[int, int, str] | None:
    """Where the secret is (start, end in the text) and its kind; None when a check vetoes it."""
    if rule.check_match is not None and not rule.check_match(m):
        return None
    name: str | int = 0
    for group in rule.groups:
        if m.group(group) is not None:
            name = group
            break
    if rule.validate is not None and not rule.validate(m.group(name)):
        return None
    kind = rule.kind_of(m) if rule.kind_of is not None else rule.kind
    start, end = m.span(name)
    return start - rule.lead if name == 0 else start, end, kind


def _replace_matches(rule: Rule, matches: Iterable[re.Match[str] | None], text: str) -> str:
    """`text` with the secret of each match that passes the rule's checks replaced by a marker.

    Unlike `re.sub`, builds nothing when no match is a secret (`mkdir -p build` for the `-p`
    rule), and the secret may start before the match (`rule.lead`)."""
    parts: list[str] = []
    last = 0
    for m in matches:
        if m is None:
            continue
        span = _secret_span(rule, m)
        if span is None or span[0] < last:
            continue
        start, end, kind = span
        found = _FOUND.get()
        if found is not None:
            found.append((text[start:end], kind))
        parts += (text[last:start], marker(kind))
        last = end
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


def _apply_anchored(rule: Rule, text: str, low: str) -> str:
    """Try `rule.regex.match` only where one of its locators matches in the lower-cased text."""
    positions = [m.start() for locator in rule.locators for m in locator.finditer(low)]
    if not positions:
        return text
    if len(low) != len(text):  # lower() changed the length (rare Unicode): indices don't map
        return _replace_matches(rule, rule.regex.finditer(text), text)
    positions.sort()
    return _replace_matches(rule, (rule.regex.match(text, pos) for pos in positions), text)


def _leftmost_matches(regex: re.Pattern[str], text: str, positions: list[int]) -> Iterable[re.Match[str]]:
    """What `regex.finditer(text)` yields, given every position where `regex` matches (sorted)."""
    end = 0
    for pos in positions:
        if pos >= end:
            m = regex.match(text, pos)
            if m is not None:
                end = m.end()
                yield m


def _apply_at(rule: Rule, text: str, positions: list[int]) -> str:
    """`rule` applied to `text`, trying its regex only at `positions` (from the gate)."""
    positions.sort()
    if rule.locators:  # as `_apply_anchored`: every located position
        return _replace_matches(rule, (rule.regex.match(text, pos) for pos in positions), text)
    return _replace_matches(rule, _leftmost_matches(rule.regex, text, positions), text)


_GATES: dict[int, Gate] = {}  # rule index -> the scan for the rules from there on, built on first use
# Text longer than this goes rule by rule: re finds a rule's literal prefix with a memchr-speed
# search, while the one scan checks each character against the set of pivots (~2.6 ns) and enters
# the matcher at every pivot (~40 ns), so past a few KB (where the ~0.4 µs per rule no longer
# counts) 13 literal scans cost less than one combined scan (bench/bench_redaction.py).
GATE_LIMIT = 4096
# ASCII text longer than this is first checked by one RE2 scan (`prefilter`, with the optional
# google-re2 installed): from about 512 characters it beats the gate, whose matcher stops at every
# pivot character, and past GATE_LIMIT it is ~5x the rule-by-rule scans (bench/bench_redaction.py).
PREFILTER_FROM = 512
# Clean strings up to this length are remembered (at most CLEAN_CACHE_SIZE of them): hashing a short
# string costs less than scanning it, and a long one is rarely seen twice.
CLEAN_CACHED_LENGTH = 64
CLEAN_CACHE_SIZE = 4096
_MAX_PASSES = 8  # redact_text's passes after the first, until the text stops changing


def _gate(first: int) -> Gate:
    gate = _GATES.get(first)
    if gate is None:
        gate = _GATES[first] = Gate(BUILTIN_RULES, first)  # compiling takes a few milliseconds
    return gate


def _redact_builtin(s: str) -> str:
    """The built-in rules applied to `s` (the fast path): one scan of clean text; after a rule changed
    the text, a scan for the rules after it."""
    out, first = s, 0
    while first < len(BUILTIN_RULES):
        if len(out) > GATE_LIMIT:
            return _rule_by_rule(out, first)
        found = _gate(first).candidates(out)
        if found is None:
            return _rule_by_rule(out, first)
        for index in sorted(found):
            new = _apply_at(BUILTIN_RULES[index], out, found[index])
            if new is not out:
                out, first = new, index + 1
                break
        else:
            return out
    return out


def _rule_by_rule(s: str, first: int = 0) -> str:
    """The reference: the built-in rules from `first` on, each with its own scan of the text."""
    out = s
    low = low_of = None  # lower-cased `out`, recomputed only after `out` changed
    for rule in BUILTIN_RULES[first:]:
        if rule.locators:
            if low_of is not out:
                low, low_of = out.lower(), out
            assert low is not None
            out = _apply_anchored(rule, out, low)
            continue
        if rule.requires and not all(literal in s for literal in rule.requires):
            continue
        first_match = rule.regex.search(out)  # one C call, the usual answer on clean text: None
        if first_match is not None:
            matches = chain((first_match,), rule.regex.finditer(out, first_match.end()))
            out = _replace_matches(rule, matches, out)
    return out


def _custom_replace(m: re.Match[str]) -> str:
    whole = m.group(0)
    if not whole:
        return whole  # a pattern that can match "" must not sprinkle markers everywhere
    found = _FOUND.get()
    if "secret" in m.re.groupindex and m.group("secret"):
        start, end = m.span("secret")
        off = m.start()
        if found is not None:
            found.append((m.group("secret"), CUSTOM_KIND))
        return whole[: start - off] + _CUSTOM_MARKER + whole[end - off :]
    if found is not None:
        found.append((whole, CUSTOM_KIND))
    return _CUSTOM_MARKER


def _compile_custom(pattern: object) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"invalid redaction pattern {pattern!r}: must be a non-empty string")
    try:
        return re.compile(pattern)
    except re.error as err:
        raise ValueError(f"invalid redaction pattern {pattern!r}: {err}") from None


class Redactor:
    """Replaces secrets with `[REDACTED:<kind>]`.

    `extra_patterns` are regexes from config.yaml `redaction.patterns` (kind `custom`). A pattern
    with a named group `secret` redacts only that group; otherwise the whole match is replaced.
    """

    def __init__(self, extra_patterns: Iterable[str] = ()) -> None:
        compiled = tuple(_compile_custom(p) for p in extra_patterns)
        self._custom = tuple(c.sub for c in compiled)
        self._custom_search = tuple(c.search for c in compiled)
        # short strings found clean: JSON data repeats a few keys and values (`type`, `text`, `user`,
        # a tool's name, the model) in every record, so a set lookup replaces most scans. Only ever
        # added to (atomic under the GIL), and emptied when full, so sharing the redactor is safe.
        self._clean: set[str] = set()

    def redact_text(self, s: str) -> str:
        """`s` with every secret replaced; the very same object when there is nothing to redact.

        Idempotent: a replacement can join its neighbours into a new match (`a:=[REDACTED…]=curl -u
        a:=…` reads as basic auth), so text that changed is redacted again until it stops changing
        (in practice one more pass, paid only by text that held a secret)."""
        size = len(s)
        if size > PREFILTER_FROM and scan_says_clean(s):  # one RE2 scan (when installed): no rule can match
            if not any(f(s) for f in self._custom_search):
                return s
        elif size <= GATE_LIMIT:  # the usual answer, in one scan: most values of a record are short and clean
            short = size <= CLEAN_CACHED_LENGTH
            clean = self._clean
            if short and s in clean:
                return s
            if _gate(0).clean(s) and (not self._custom_search or not any(f(s) for f in self._custom_search)):
                if short:  # remembered (inline: this runs for every new short value of a record)
                    if len(clean) >= CLEAN_CACHE_SIZE:
                        clean.clear()
                    clean.add(s)
                return s
        out = self._once(s)
        if out is s:
            return s
        for _ in range(_MAX_PASSES):
            again = self._once(out)
            if again is out:
                break
            out = again
        return s if out == s else out

    def _once(self, s: str) -> str:
        out = _redact_builtin(s)
        for sub in self._custom:
            out = sub(_custom_replace, out)
        if out is not s and out == s:
            return s
        return out

    def contains_secret(self, s: str) -> bool:
        return self.redact_text(s) is not s

    def secrets_in(self, s: str) -> list[tuple[str, str]]:
        """(secret, kind) of each value `redact_text(s)` replaces, in order: what a caller remembers
        to find the same value again where no rule would (dreamcli.redaction.recurring). Slow path:
        for text known to hold a secret."""
        found: list[tuple[str, str]] = []
        token = _FOUND.set(found)
        try:
            self._once(s)  # the first pass: later ones see markers, not the text's own values
        finally:
            _FOUND.reset(token)
        return found

    def redact_obj(self, obj: Any) -> Any:
        """A redacted copy of JSON-like data, keys included; `obj` itself if nothing changed.

        A string value is also redacted whole when its key names a secret (`{"password": "..."}`). A key
        holding a secret becomes its marker (`[REDACTED:token] 2` for the second one that would
        collide with another key).
        Copy on write: a dict or list is copied only when something inside it changed, so clean
        subtrees are shared with `obj`, and numbers, booleans and None cost no call.
        """
        if isinstance(obj, str):
            return self.redact_text(obj)
        if isinstance(obj, dict):
            return self._redact_dict(obj)
        if isinstance(obj, list | tuple):
            return self._redact_items(obj)
        return obj

    def _redact_dict(self, obj: dict[Any, Any]) -> dict[Any, Any]:
        new: dict[Any, Any] | None = None
        renamed: dict[str, str] | None = None
        clean = self._clean
        for key, value in obj.items():
            if isinstance(key, str) and key not in clean:
                red_key = self.redact_text(key)
                if red_key is not key:
                    renamed = renamed or {}
                    renamed[key] = red_key
            red: Any
            if isinstance(value, str):
                red = value if len(value) <= CLEAN_CACHED_LENGTH and value in clean else self.redact_text(value)
                if red is value and isinstance(key, str) and sensitive_value_for_key(key, value):
                    red = marker(generic_kind(key))
            elif isinstance(value, dict):
                try:
                    red = self._redact_dict(value)
                except RecursionError:  # nested deeper than this walk goes: never written out unchecked
                    red = TOO_DEEP
            elif isinstance(value, list | tuple):
                try:
                    red = self._redact_items(value)
                except RecursionError:
                    red = TOO_DEEP
            else:
                continue
            if red is not value:
                if new is None:
                    new = dict(obj)
                new[key] = red
        if renamed is not None:
            return _rename_keys(new if new is not None else obj, renamed)
        return obj if new is None else new

    def _redact_items(self, obj: list[Any] | tuple[Any, ...]) -> list[Any] | tuple[Any, ...]:
        items: list[Any] | None = None
        for i, value in enumerate(obj):
            try:
                red = self.redact_obj(value)
            except RecursionError:  # nested deeper than this walk goes: never written out unchecked
                red = TOO_DEEP
            if red is not value:
                if items is None:
                    items = list(obj)
                items[i] = red
        if items is None:
            return obj
        return items if isinstance(obj, list) else tuple(items)


def _rename_keys(obj: dict[Any, Any], renamed: dict[str, str]) -> dict[Any, Any]:
    """`obj` with the keys in `renamed` replaced, in order; a new key that is already taken gets a number."""
    out: dict[Any, Any] = {}
    for key, value in obj.items():
        new_key = renamed.get(key, key) if isinstance(key, str) else key
        if new_key in out or (new_key is not key and new_key in obj):
            n = 2
            while f"{new_key} {n}" in out or f"{new_key} {n}" in obj:
                n += 1
            new_key = f"{new_key} {n}"
        out[new_key] = value
    return out


class RedactionSettings(Protocol):
    @property
    def patterns(self) -> Sequence[str]: ...


class RedactionConfigured(Protocol):
    """Anything with `redaction.patterns` (dreamcli.config.Config)."""

    @property
    def redaction(self) -> RedactionSettings: ...


def for_config(config: RedactionConfigured) -> Redactor:
    """The redactor for a config: built-in rules plus its `redaction.patterns`."""
    return for_patterns(config.redaction.patterns)


def for_patterns(patterns: Iterable[str] = ()) -> Redactor:
    """The shared redactor for built-in rules plus `patterns` (ValueError for an invalid pattern)."""
    key = tuple(patterns)
    for pattern in key:
        if not isinstance(pattern, str):
            _compile_custom(pattern)  # raises the ValueError a Redactor would
    return _shared(key)


def default_redactor() -> Redactor:
    """The shared redactor with built-in patterns only."""
    return for_patterns(())


@lru_cache(maxsize=64)
def _shared(patterns: tuple[str, ...]) -> Redactor:
    return Redactor(patterns)
