"""`dream --timestamps`: each line the command writes on stderr starts with the time (RFC 3339, UTC), the
`error:` line the root command prints when the command stops included, so that a log a scheduler appends to
(state/logs/schedule.log, `dreamcli schedule install`) says which night wrote what.

    restore = dated_stderr()   # sys.stderr dates its lines until restore() (call it once the error is out)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TextIO

from dreamcli.timeutil import now_rfc3339


class DatedLines:
    """A text stream that writes to `stream`, each line started with `clock()` and a space. Not a terminal:
    no colour and no live view, which would redraw lines."""

    def __init__(self, stream: TextIO, clock: Callable[[], str] = now_rfc3339) -> None:
        self.stream = stream
        self._clock = clock
        self._at_start = True
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            out: list[str] = []
            for piece in _lines(text):
                if self._at_start:
                    out.append(self._clock() + ("" if piece == "\n" else " "))
                out.append(piece)
                self._at_start = piece.endswith("\n")
            self.stream.write("".join(out))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:
        return getattr(self.stream, "errors", None)


def _lines(text: str) -> list[str]:
    """`text` cut after each newline (only there: a CR is part of its line), the newlines kept."""
    pieces = [f"{p}\n" for p in text.split("\n")]
    pieces[-1] = pieces[-1][:-1]
    return [p for p in pieces if p]


def dated_stderr() -> Callable[[], None]:
    """Date every line written to sys.stderr from now on; returns the function that stops it (a line left
    unfinished is ended first)."""
    original = sys.stderr
    dated = DatedLines(original)
    sys.stderr = dated

    def restore() -> None:
        if sys.stderr is dated:
            if not dated._at_start:
                dated.write("\n")
            dated.flush()
            sys.stderr = original

    return restore
