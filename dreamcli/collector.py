"""The cyclic garbage collector around long passes that allocate much (a dream).

`frozen()` moves every object alive when it starts out of the collector's reach until it ends
(`gc.freeze`): a dream's process holds every module and the config before it reads a line, and each
full collection its allocations set off walked them all again (5-8% of an offline dream's CPU). A
process pool forked inside the block shares those pages untouched. Nested, or when someone else froze
objects already, it does nothing, so it never unfreezes what it did not freeze.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
