"""Errors that carry their exit code (docs/architecture.md, "Exit codes": 0/1/2/3/4/74/75/130).

Core code raises these; the CLI turns them into one line on stderr and the exit code.
"""

from __future__ import annotations

import errno
import os

try:  # imported now: once a leak has taken every descriptor, the import of an extension module would fail
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INFRA = 3
EXIT_CREDENTIALS = 4
EXIT_IOERR = 74  # sysexits.h EX_IOERR: the machine could not store dreamcli's files (a full disk, read-only, ...)
EXIT_LOCKED = 75
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141  # stdout's reader went away (`| head`): 128 + SIGPIPE, as the shell reports it


class DreamError(Exception):
    """Base error: `str(err)` is the one line shown to the user."""

    exit_code: int = EXIT_FAILED

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class WorkFailed(DreamError):
    """The work ran and failed (grade below threshold, a failed agent run)."""

    exit_code = EXIT_FAILED


class UsageError(DreamError):
    """Bad usage or bad input; the message names the file and field at fault."""

    exit_code = EXIT_USAGE


class InputError(UsageError):
    """Bad input file: carries file, line and field for a precise message."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        where = ""
        if file:
            where = str(file)
            if line is not None:
                where += f":{line}"
            where += ": "
        if field:
            where += f"{field}: "
        super().__init__(where + message)
        self.file = file
        self.line = line
        self.field = field


class ModelError(DreamError):
    """Grader or model infrastructure error (unscored)."""

    exit_code = EXIT_INFRA


class CredentialsError(DreamError):
    """Missing credentials or model endpoint."""

    exit_code = EXIT_CREDENTIALS


class LockHeld(DreamError):
    """Another process holds the workspace lock."""

    exit_code = EXIT_LOCKED


class Interrupted(DreamError):
    """The user interrupted the work (Ctrl-C)."""

    exit_code = EXIT_INTERRUPTED


def stdout_closed() -> UsageError:
    """The refusal of a command started with stdout closed (`dreamcli … >&-`: `sys.stdout` is None), which
    would lose what it prints: every command's, said before any work (dreamcli.cli.streams), and an export's
    to `-o -` when called with none."""
    return UsageError("stdout is closed; redirect it to a file, or to /dev/null to discard the output")


class StorageError(DreamError):
    """The machine, not the input and not a bug: a full disk or quota, a read-only file system, an I/O error,
    dreamcli's own files out of this user's reach, too many open files (`storage_error`)."""

    exit_code = EXIT_IOERR
    os_error: OSError | None = None  # the error of the machine it says (set by `storage_error`)


_KEPT = "run the command again; nothing written before is lost"
_SPACE = f"free some space and {_KEPT}"
_OWN = "make the workspace's files readable and writable by this user (chown, chmod) and run the command again"
# errno: (the cause, whether the file was being written, what to do)
_STORAGE: dict[int, tuple[str, bool, str]] = {
    errno.ENOSPC: ("no space left on device", True, _SPACE),
    errno.EDQUOT: ("disk quota exceeded", True, f"free some space (or ask for a larger quota) and {_KEPT}"),
    errno.EROFS: ("read-only file system", True, "remount it read-write, or pass {elsewhere}, and run the command "
                  "again"),
    errno.EIO: ("input/output error", False, "check the disk (dmesg) before you run the command again"),
    errno.EMFILE: ("too many open files", False, "raise the limit (ulimit -n) and run the command again"),
    errno.ENFILE: ("too many open files in the system", False, "close other programs and run the command again"),
    errno.EACCES: ("permission denied", False, _OWN),
    errno.EPERM: ("operation not permitted", False, _OWN),
}
_OWN_FILES_ONLY = (errno.EACCES, errno.EPERM)


def storage_error(e: OSError, *, workspace: str | os.PathLike[str] | None = None,
                  elsewhere: str = "--home DIR") -> StorageError | None:
    """The one line (exit 74) for an OSError of the machine a command ran on: ENOSPC, EDQUOT, EROFS, EIO,
    EMFILE, ENFILE, and EACCES/EPERM on a file inside `workspace` (dreamcli's own); naming the file when the
    error has one. None for anything else (a bug: the CLI's `internal error`). `elsewhere` is the option that
    puts the file on another disk, which a read-only file system's advice names: the workspace's by default,
    `-o` for a command's output."""
    known = _STORAGE.get(e.errno) if e.errno is not None else None
    if known is None:
        return None
    name = _filename(e)
    if e.errno in _OWN_FILES_ONLY and not (name and workspace and _inside(name, os.fspath(workspace))):
        return None
    err = StorageError(f"{os_error_cause(e)}: {known[2].format(elsewhere=elsewhere)}")
    err.os_error = e
    return err


# SQLite's primary result codes that are the machine's (a sqlite3 error's `sqlite_errorcode` & 0xFF)
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL = 8, 10, 13


def sqlite_os_error(e: Exception, path: str | os.PathLike[str]) -> OSError | None:
    """A sqlite3 error of the machine as the OSError it stands for, naming the database file `path`, for
    `storage_error` (exit 74, one line): SQLITE_FULL ("database or disk is full") as ENOSPC, SQLITE_READONLY
    ("attempt to write a readonly database") as EROFS on a read-only file system, else EACCES, SQLITE_IOERR as
    EIO. None for any other (a locked or corrupt database, a bug)."""
    code = getattr(e, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == _SQLITE_FULL:
        number = errno.ENOSPC
    elif primary == _SQLITE_IOERR:
        number = errno.EIO
    elif primary == _SQLITE_READONLY:
        try:
            read_only = bool(os.statvfs(os.path.dirname(os.path.abspath(path))).f_flag & os.ST_RDONLY)
        except (OSError, AttributeError):  # no statvfs (Windows): the file's own permissions, most likely
            read_only = False
        number = errno.EROFS if read_only else errno.EACCES
    else:
        return None
    return OSError(number, os.strerror(number), os.fspath(path))


def os_error_cause(e: OSError) -> str:
    """What went wrong, and with which file when the error names one: `no space left on device (writing
    /w/sessions/x.jsonl)`; EMFILE with how many descriptors this process holds of its limit: `too many open
    files (1021 of 1024 open; /w/x)`; an error `storage_error` does not know in its own words."""
    name = _filename(e)
    known = _STORAGE.get(e.errno) if e.errno is not None else None
    if known is None:
        return f"{e.strerror or e}" + (f" ({name})" if name else "")
    cause, writing, _advice = known
    notes = [_descriptors()] if e.errno == errno.EMFILE else []
    if name:
        notes.append(f"{'writing ' if writing else ''}{name}")
    shown = "; ".join(n for n in notes if n)
    return cause + (f" ({shown})" if shown else "")


def _descriptors() -> str | None:
    """For EMFILE, this process's own limit: how many descriptors it holds of it (`1021 of 1024 open`), so that a
    leak shows; None when the system does not say."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0] if resource is not None else -1
    limit = soft if soft > 0 and soft != resource.RLIM_INFINITY else None
    count = _open_descriptors(limit)
    if count is None:
        return f"limit {limit}" if limit else None
    return f"{count} of {limit} open" if limit else f"{count} open"


def _open_descriptors(limit: int | None) -> int | None:
    for listing in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(listing)) - 1  # the listing's own descriptor is in it
        except OSError as e:
            if e.errno == errno.EMFILE and limit:
                return limit  # not one left to list them with: every one is open
    return None


def _filename(e: OSError) -> str | None:
    return os.fsdecode(e.filename) if isinstance(e.filename, str | bytes | os.PathLike) else None


def _inside(path: str, root: str) -> bool:
    path, root = os.path.abspath(path), os.path.abspath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
