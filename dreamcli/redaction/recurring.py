"""Secret values a session's redaction found, redacted again wherever they recur in that session.

A rule knows a secret by what stands around it: `AWS_SECRET_ACCESS_KEY=...`, `{"password": ...}`,
`curl -u user:...`. The same value later on its own (a user pasting it back, a tool printing it, an
agent quoting it in a command) has nothing around it that a rule could match. The session writer
keeps a `RecurringSecrets` per session: every value its redactor replaced (at least MIN_LENGTH
characters, so a short password does not blank out common words) is remembered, and from then on
each of its occurrences in that session, in text or in a key, becomes the same marker.

Only later occurrences: a line is on disk once written (the log is append-only), so a value seen
bare before any rule matched it stays as it was. A sub-agent has a writer, and a memory, of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dreamcli.redaction.redactor import Redactor
from dreamcli.redaction.rules import MARKER_PREFIX, MARKER_RE, marker

MIN_LENGTH = 8
MAX_VALUES = 256  # remembered per session; a log full of secrets keeps its first ones


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
        self._regex: re.Pattern[str] | None = None

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
                if len(value) >= MIN_LENGTH and MARKER_PREFIX not in value and value not in self._kinds \
                        and len(self._kinds) < MAX_VALUES:
                    self._kinds[value] = kind
                    added = True
        if added:  # longest first: a value that holds another is replaced whole
            alternatives = sorted(self._kinds, key=len, reverse=True)
            self._regex = re.compile("|".join(map(re.escape, alternatives)))

    def redact(self, obj: Any) -> Any:
        """`obj` with every remembered value replaced by its marker; `obj` itself when none occurs."""
        if self._regex is None:
            return obj
        return self._walk(obj, self._regex)

    def _walk(self, obj: Any, regex: re.Pattern[str]) -> Any:
        if isinstance(obj, str):
            if regex.search(obj) is None:
                return obj
            return regex.sub(lambda m: marker(self._kinds[m.group()]), obj)
        if isinstance(obj, dict):
            items = [(self._walk(k, regex), self._walk(v, regex)) for k, v in obj.items()]
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
            values = [self._walk(v, regex) for v in obj]
            if all(v0 is v1 for v0, v1 in zip(obj, values, strict=True)):
                return obj
            return values if isinstance(obj, list) else tuple(values)
        return obj
