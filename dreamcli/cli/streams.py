"""The standard streams a command starts with, settled once by the entry point (`dreamcli.cli.app`) before any
work and before the command tree is imported (docs/cli.md, "Output and exit codes"):

- stdout closed (`dreamcli … >&-`, a daemon started without one: Python's `sys.stdout` is None): every command
  is refused, one `error:` line and exit 2, with nothing read or written. Its output would be lost, and a
  command that exits 0 with no output tells a script it got a result; `> /dev/null` is how to discard it.
- stderr closed: pointed at /dev/null, so the messages are lost but the work runs and exits as it would have.
  The descriptor is filled too: a file the command opens later would otherwise be given fd 2, and whatever
  a library writes to fd 2 would land in it.
- stdout's own write errors name it (`no space left on device (writing stdout)`), as the error of a file
  names the file, so that `> /dev/full` does not send the user looking for a full workspace disk.

Standard library and `dreamcli.errors` only: `--help` must not pay for more.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing at start-up costs milliseconds
if TYPE_CHECKING:
    from typing import NoReturn

    from _typeshed import ReadableBuffer

STDOUT = "stdout"  # how an error writing stdout names it
_NAMED = (errno.ENOSPC, errno.EDQUOT, errno.EIO)  # the machine's errors a write to stdout can get


def take() -> None:
    """Settle stdout and stderr for the command about to run: refuse a closed stdout, send what a closed stderr
    would have shown to /dev/null, and have stdout's write errors name it."""
    if sys.stdout is None:
        _refuse()
    if sys.stderr is None:
        _discard_stderr()
    _name_write_errors()


def _refuse() -> NoReturn:
    from dreamcli.errors import stdout_closed

    refusal = stdout_closed()
    if sys.stderr is not None:
        from dreamcli.ui.console import error_line

        with contextlib.suppress(OSError):  # stderr's reader gone too: the exit code still says it
            error_line(str(refusal))
    raise SystemExit(refusal.exit_code)


def _discard_stderr() -> None:
    """/dev/null as fd 2 and sys.stderr: the messages are lost, the command is not."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return  # no /dev/null to be had: the messages fail where they are written, as before
    if fd != 2:
        os.dup2(fd, 2)
        os.close(fd)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="backslashreplace",  # noqa: SIM115
                      closefd=False)


class _Stdout(io.FileIO):
    """fd 1, whose writes that fail on the machine (a full disk, an I/O error) say it was stdout."""

    def write(self, b: ReadableBuffer, /) -> int:
        try:
            return super().write(b)
        except OSError as e:
            if e.errno not in _NAMED or e.filename is not None:
                raise
            raise OSError(e.errno, e.strerror, STDOUT) from None


def _name_write_errors() -> None:
    """Put `_Stdout` under sys.stdout, with the same encoding, error handler and buffering. Only the process's
    own stdout: a test runner's buffer, or a console that is not a file (Windows), is left as it is."""
    out = sys.stdout
    binary = getattr(out, "buffer", None)
    raw = getattr(binary, "raw", binary)  # unbuffered (PYTHONUNBUFFERED, -u): the file itself
    if type(out) is not io.TextIOWrapper or type(raw) is not io.FileIO:
        return
    named = _Stdout(raw.fileno(), "w", closefd=False)
    layer: io.RawIOBase | io.BufferedWriter = named if binary is raw else io.BufferedWriter(named)
    sys.stdout = io.TextIOWrapper(layer, encoding=out.encoding, errors=out.errors,
                                  line_buffering=out.line_buffering, write_through=out.write_through)
