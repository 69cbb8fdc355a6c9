"""'waiting for the model' while a model call is silent: a live seconds counter on a terminal, an
occasional line otherwise (logs of cron and CI runs), nothing with --quiet.

    w = Waiting(write, tty=True)
    w.arm()      # a model call starts: after `after_s` of silence, say so
    w.arm("waiting for the session store")  # or what else it waits for
    w.arm("running bash", since=t0)  # resumed after a line was printed: it still counts from t0
    w.disarm()   # output arrived (or the run ended): clear the counter
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Waiting:
    """One daemon thread per view; `write(text)` must take the caller's output lock itself."""

    def __init__(self, write: Callable[[str], None], *, tty: bool, after_s: float | None = None,
                 every_s: float | None = None, label: str = "waiting for the model") -> None:
        self.write = write
        self.tty = tty
        self.after_s = after_s if after_s is not None else (3.0 if tty else 15.0)
        self.every_s = every_s if every_s is not None else (1.0 if tty else 30.0)
        self.label = label
        self._label = label  # what the armed counter says
        self._since: float | None = None
        self._due = 0.0  # when the armed counter is first shown
        self._arms = 0  # how many times it was armed: the thread's schedule belongs to one arm
        self._shown = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(self, label: str | None = None, *, since: float | None = None) -> None:
        """Count from now, or from `since` (a monotonic time) when a wait that a printed line interrupted
        goes on: then it shows again a tick from now, not at once (a pipe gets no line after every line)."""
        with self._cond:
            now = time.monotonic()
            self._since = now if since is None else since
            self._due = self._since + self.after_s if since is None else max(since + self.after_s, now + self.every_s)
            self._arms += 1
            self._label = label or self.label
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dreamcli-waiting", daemon=True)
                self._thread.start()
            self._cond.notify()

    @property
    def armed(self) -> bool:
        with self._cond:
            return self._since is not None

    def disarm(self) -> bool:
        """Stop counting; True when a live counter was on screen (the caller's line must be cleared)."""
        with self._cond:
            self._since = None
            shown, self._shown = self._shown, False
            self._cond.notify()
        if shown and self.tty:
            self.write("\r\033[K")
        return shown

    def close(self) -> None:
        self.disarm()
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        next_at: float | None = None
        counting = -1  # the arm that next_at belongs to
        while True:
            with self._cond:
                if self._closed:
                    return
                if self._since is None:
                    next_at = None
                    self._cond.wait()
                    continue
                since = self._since
                now = time.monotonic()
                due = next_at if next_at is not None and counting == self._arms else self._due
                if now < due:
                    self._cond.wait(due - now)
                    continue
                elapsed = now - since
                next_at, counting = now + self.every_s, self._arms
                self._shown = True
                label = self._label
            if self.tty:
                self.write(f"\r\033[K… {label}: {elapsed:.0f}s")
            else:
                self.write(f"{label} ({elapsed:.0f}s so far)\n")
