"""The `Redactor`: applies the built-in rules plus patterns from config to text and JSON-like data.

Build one with `for_config(config)` (or `for_patterns(patterns)`): the one factory, which builds a
Redactor once per set of patterns and hands the same (immutable, thread-safe) object to every caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain
from typing import Any, Protocol

from dreamcli.redaction.catalog import BUILTIN_RULES, SHORT_GATE, SHORT_TEXT
from dreamcli.redaction.rules import Rule, generic_kind, marker, sensitive_value_for_key

CUSTOM_KIND = "custom"
_CUSTOM_MARKER = marker(CUSTOM_KIND)


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


def _custom_replace(m: re.Match[str]) -> str:
    whole = m.group(0)
    if not whole:
        return whole  # a pattern that can match "" must not sprinkle markers everywhere
    if "secret" in m.re.groupindex and m.group("secret"):
        start, end = m.span("secret")
        off = m.start()
        return whole[: start - off] + _CUSTOM_MARKER + whole[end - off :]
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
        self._custom = tuple(_compile_custom(p).sub for p in extra_patterns)

    def redact_text(self, s: str) -> str:
        """`s` with every secret replaced; the very same object when there is nothing to redact."""
        if len(s) <= SHORT_TEXT and SHORT_GATE.search(s.lower()) is None:
            out = s
            for sub in self._custom:
                out = sub(_custom_replace, out)
            return s if out == s else out
        out = s
        low = low_of = None  # lower-cased `out`, recomputed only after `out` changed
        for rule in BUILTIN_RULES:
            if rule.locators:
                if low_of is not out:
                    low, low_of = out.lower(), out
                assert low is not None
                out = _apply_anchored(rule, out, low)
                continue
            if rule.requires and not all(literal in s for literal in rule.requires):
                continue
            first = rule.regex.search(out)  # one C call, the usual answer on clean text: None
            if first is not None:
                out = _replace_matches(rule, chain((first,), rule.regex.finditer(out, first.end())), out)
        for sub in self._custom:
            out = sub(_custom_replace, out)
        if out is not s and out == s:
            return s
        return out

    def contains_secret(self, s: str) -> bool:
        return self.redact_text(s) is not s

    def redact_obj(self, obj: Any) -> Any:
        """A redacted copy of JSON-like data (dict keys untouched); `obj` itself if nothing changed.

        A string value is also redacted whole when its key names a secret (`{"password": "..."}`).
        """
        if isinstance(obj, str):
            return self.redact_text(obj)
        if isinstance(obj, dict):
            new: dict[Any, Any] | None = None
            for key, value in obj.items():
                red = self.redact_obj(value)
                if (
                    red is value
                    and isinstance(value, str)
                    and isinstance(key, str)
                    and sensitive_value_for_key(key, value)
                ):
                    red = marker(generic_kind(key))
                if red is not value:
                    if new is None:
                        new = dict(obj)
                    new[key] = red
            return obj if new is None else new
        if isinstance(obj, list | tuple):
            items: list[Any] | None = None
            for i, value in enumerate(obj):
                red = self.redact_obj(value)
                if red is not value:
                    if items is None:
                        items = list(obj)
                    items[i] = red
            if items is None:
                return obj
            return items if isinstance(obj, list) else tuple(items)
        return obj


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
