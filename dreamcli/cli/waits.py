"""`--wait SECONDS`, one vocabulary for every command that queues for a workspace lock (dream, import,
playbooks approve/reject/edit/revert): seconds (finite, 0 or more), or exactly -1 for "as long as it takes"."""

from __future__ import annotations

import math

from dreamcli.errors import UsageError


def check_wait(wait: float | None) -> float | None:
    """The value when valid (None: do not wait); UsageError (exit 2) otherwise. Usable as a Typer callback."""
    if wait is not None and wait != -1 and not (math.isfinite(wait) and wait >= 0):
        raise UsageError(f"--wait: {wait} is not a number of seconds; give 0 or more, or -1 to wait as long as "
                         "it takes")
    return wait
