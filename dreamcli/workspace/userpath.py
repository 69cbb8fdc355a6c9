"""Paths a user names (an argument, `-o`, `--into`, `--home`), checked where dreamcli first looks at them.

A name the system cannot look up (a name over NAME_MAX, a path over PATH_MAX: `Path.exists` raises on
Python 3.11) and, for a path dreamcli records (the audit trail, the session index, a bundle's provenance:
UTF-8 text), a name that is not UTF-8 are each a one-line usage error (exit 2) naming the argument, given
before anything is written, never an internal error after half the work."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from dreamcli.errors import UsageError, storage_error

_MISSING = (errno.ENOENT, errno.ENOTDIR)  # nothing there yet: the command says what that means
_NAME_MAX, _PATH_MAX = 255, 4096  # Linux and macOS; the system's own values when it says


def user_path(path: str | os.PathLike[str], what: str, *, recorded: bool = False) -> Path:
    """`path` as a Path, or UsageError naming `what` (`--home`, `-o`, `BUNDLE`): when the system cannot look
    the name up (too long, a parent this user may not search), and, with `recorded`, when it holds bytes that
    are not UTF-8 (dreamcli records it as UTF-8 text). A missing path is fine; a failing disk (EIO) is left
    to the caller's storage error."""
    p = Path(path)
    if recorded:
        check_utf8_name(p, what)
    try:
        os.stat(p)
    except OSError as e:
        if e.errno in _MISSING:
            return p
        if storage_error(e) is not None:  # the machine (EIO, ...): the command's one line for it, exit 74
            raise
        from dreamcli.textnorm import escaped  # here: every command that opens a workspace imports this module

        raise UsageError(f"{what} {escaped(str(p))}: {_cause(p, e)}") from None
    return p


def check_utf8_name(path: str | os.PathLike[str], what: str) -> None:
    """UsageError (exit 2) naming `what` when `path` holds bytes that are not UTF-8 (Python's lone surrogate
    escapes): the audit record, the session index and JSON output could not hold it."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")  # a lone surrogate (an undecodable byte) cannot be encoded
    except UnicodeEncodeError:
        from dreamcli.textnorm import escaped

        raise UsageError(f"{what}: \"{escaped(text)}\" holds bytes that are not UTF-8, and dreamcli records this "
                         "path as UTF-8 text; rename it or give another (nothing was written)") from None


def _cause(path: Path, e: OSError) -> str:
    """Why the name cannot be looked up, in words; for a name too long, which limit it passes."""
    if e.errno != errno.ENAMETOOLONG:
        return (e.strerror or str(e)).lower()
    raw = os.fsencode(path)
    longest = max(len(part) for part in raw.split(b"/"))
    name_max = _limit("PC_NAME_MAX", _NAME_MAX)
    if longest > name_max:
        return f"file name too long (a name of {longest} bytes; at most {name_max})"
    return f"path too long ({len(raw)} bytes; at most {_limit('PC_PATH_MAX', _PATH_MAX)})"


def _limit(name: str, default: int) -> int:
    try:
        return int(os.pathconf("/", name))
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or no such limit
        return default
