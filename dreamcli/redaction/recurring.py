"""Secret values a session's redaction found, redacted again wherever they recur in that session.

A rule knows a secret by what stands around it: `AWS_SECRET_ACCESS_KEY=...`, `{"password": ...}`,
`curl -u user:...`. The same value later on its own (a user pasting it back, a tool printing it, an
agent quoting it in a command) has nothing around it that a rule could match. The session writer
keeps a `RecurringSecrets` per session: every distinctive value its redactor replaced is remembered,
and from then on each of its occurrences in that session, as a word of its own in text or in a key,
becomes the same marker. Distinctive: at least MIN_LENGTH characters of two kinds or more (letters and
digits, symbols, or mixed case past the first letter): a rule that knows a secret by its key's name
also takes `postgres` or `localhost` (`POSTGRES_PASSWORD: "postgres"`), and replacing such a word
everywhere would wreck the session (and what the model reads of it) for nothing.

Only later occurrences: a line is on disk once written (the log is append-only), so a value seen
bare before any rule matched it stays as it was. A sub-agent has a writer, and a memory, of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dreamcli.redaction.redactor import Redactor
from dreamcli.redaction.rules import MARKER_PREFIX, MARKER_RE, is_placeholder, marker

MIN_LENGTH = 8
MAX_VALUES = 256  # remembered per session; a log full of secrets keeps its first ones
_WORD = "A-Za-z0-9_"


def distinctive(value: str) -> bool:
    """Worth finding again bare: long enough and not a word (`hunter2hunter2`, `S3cr3t-Pass`, a token;
    not `postgres`, `localhost`, `Required`)."""
    if len(value) < MIN_LENGTH or len(set(value)) < 5 or is_placeholder(value):
        return False
    digit = any(c.isdigit() for c in value)
    other = any(not c.isalnum() for c in value)
    lower = any(c.islower() for c in value)
    upper = any(c.isupper() for c in value[1:])  # a capital first letter alone makes no token
    return digit + other + lower + upper >= 2 and not (value.isdigit())


def _pairs(before: Any, after: Any) -> Iterator[tuple[str, str]]:
    """(original, redacted) of every string the redaction changed, keys included (redaction keeps a
    dict's items in order and their number, and a list's length)."""
    if before is after:
        return
    if isinstance(before, str):
        if isinstance(after, str):
            yield before, after
    elif isinstance(before, dict):
        if isinstance(after, dict) and len(after) == len(before):
            for (k0, v0), (k1, v1) in zip(before.items(), after.items(), strict=True):
                if isinstance(k0, str) and isinstance(k1, str) and k0 != k1:
                    yield k0, k1
                yield from _pairs(v0, v1)
    elif isinstance(before, list | tuple) and isinstance(after, list | tuple) and len(after) == len(before):
        for v0, v1 in zip(before, after, strict=True):
            yield from _pairs(v0, v1)


class RecurringSecrets:
    """The values one session's redaction replaced, and their redaction elsewhere in the session."""

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}
        self._values: list[str] = []  # longest first: a value that holds another is replaced whole
        self._regexes: dict[tuple[str, ...], re.Pattern[str]] = {}

    def __bool__(self) -> bool:
        return bool(self._kinds)

    def learn(self, before: Any, after: Any, redactor: Redactor) -> None:
        """Remember the secrets `redactor` replaced to turn `before` into `after`."""
        added = False
        for original, redacted in _pairs(before, after):
            found = redactor.secrets_in(original)
            if not found and MARKER_RE.fullmatch(redacted):  # a value secret by its key's name
                found = [(original, redacted[len(MARKER_PREFIX):-1])]
            for value, kind in found:
                value = value.strip()
                if distinctive(value) and MARKER_PREFIX not in value and value not in self._kinds \
                        and len(self._kinds) < MAX_VALUES:
                    self._kinds[value] = kind
                    added = True
        if added:
            self._values = sorted(self._kinds, key=len, reverse=True)
            self._regexes.clear()

    def redact(self, obj: Any) -> Any:
        """`obj` with every remembered value replaced by its marker; `obj` itself when none occurs."""
        if not self._values:
            return obj
        return self._walk(obj)

    def _text(self, s: str) -> str:
        hits = tuple(v for v in self._values if v in s)  # a C substring search per value: most text has none
        if not hits:
            return s
        regex = self._regexes.get(hits)
        if regex is None:  # the values found, as words of their own (not inside a longer name or token)
            if len(self._regexes) >= 64:
                self._regexes.clear()
            regex = self._regexes[hits] = re.compile(
                f"(?<![{_WORD}])(?:{'|'.join(map(re.escape, hits))})(?![{_WORD}])")
        out = regex.sub(lambda m: marker(self._kinds[m.group()]), s)
        return s if out == s else out

    def _walk(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self._text(obj)
        if isinstance(obj, dict):
            items = [(self._walk(k), self._walk(v)) for k, v in obj.items()]
            if all(k0 is k1 and v0 is v1 for (k0, v0), (k1, v1) in zip(obj.items(), items, strict=True)):
                return obj
            out: dict[Any, Any] = {}
            for key, value in items:
                n = 2
                unique = key
                while unique in out:  # two keys that became the same marker stay two keys
                    unique = f"{key} {n}"
                    n += 1
                out[unique] = value
            return out
        if isinstance(obj, list | tuple):
            values = [self._walk(v) for v in obj]
            if all(v0 is v1 for v0, v1 in zip(obj, values, strict=True)):
                return obj
            return values if isinstance(obj, list) else tuple(values)
        return obj
