"""Stdout carries only a command's data while a dream runs on Ray (`dream --executor ray`, docs/scaling.md).

Ray's driver prints the cluster's error messages (`(raylet) A worker died or was killed …`, coloured) to
sys.stdout from a thread of its own, whatever `ray.init(log_to_driver=False)` says, and prints the lines it held
back as repeats when it disconnects (at exit, after the result): both came around `--json`'s document."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator

from dreamcli.dream.executors import Deferred, MapExecutor, use_executor
from dreamcli.dream.ray_errors import ANSI


class _ToStderr(io.TextIOBase):
    """Stands for sys.stdout while a Ray dream runs: what is printed there goes to stderr, colour codes removed."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        sys.stderr.write(ANSI.sub("", text))
        return len(text)

    def flush(self) -> None:
        sys.stderr.flush()


@contextlib.contextmanager
def running(executor: MapExecutor | None) -> Iterator[None]:
    """`executor` in use around a command's dream (`use_executor`). A Ray one (`Deferred`, from make_executor) is
    closed at the end, and until then nothing printed to sys.stdout reaches stdout (`_ToStderr`): stdout carries
    only the command's data. The caller prints its result after this."""
    with use_executor(executor):
        if not isinstance(executor, Deferred):
            yield
            return
        with contextlib.redirect_stdout(_ToStderr()):
            try:
                yield
            finally:
                executor.close()
