"""Fault injection for the crash-consistency tests (tests/test_crash_torture.py, bench/torture.py).

`crashpoint("approve.history")` does nothing unless the environment variable DREAMCLI_CRASH_AT names
that step (a comma-separated list is allowed): then the process SIGKILLs itself on the spot, as a
power cut or `kill -9` would, with no cleanup, no `finally` and no flushed buffers. SQLite and
FoundationDB test their commit paths the same way. The named steps are listed in docs/reliability.md.
"""

from __future__ import annotations

import os
import signal

ENV = "DREAMCLI_CRASH_AT"


def crashpoint(step: str) -> None:
    wanted = os.environ.get(ENV)
    if wanted and step in wanted.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
