"""Safe file writes: atomic replace, whole-line appends, private permissions (dirs 0700, files 0600)."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

from dreamcli.errors import DreamError, UsageError

DIR_MODE = 0o700
FILE_MODE = 0o600
TEMP_SUFFIX = ".tmp"  # of the temporary file `atomic_write_bytes` writes
# The random part of tempfile's names: 8 of these letters (tempfile._RandomNameSequence).
_TEMP_LETTERS, _TEMP_RANDOM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_"), 8
T = TypeVar("T")


class NotADirectory(UsageError, FileExistsError):
    """A path where a directory must be is something else (a file, a dangling symbolic link): exit 2 with
    one line naming it. Still a FileExistsError, so callers that tolerate an OSError keep doing so."""


def ensure_dir(path: Path) -> Path:
    """Create `path` (and parents) with mode 0700 for the directories this call creates."""
    path = Path(path)
    if path.is_dir():
        return path
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if not d.is_dir():
                raise _not_a_directory(d) from None
        except NotADirectoryError:
            raise _not_a_directory(next((q for q in d.parents if q.exists() and not q.is_dir()), d)) from None
        else:
            os.chmod(d, DIR_MODE)  # mkdir's mode is masked by the umask
    return path


def into_dir(path: Path, make: Callable[[], T]) -> T:
    """`make()`, which creates `path` (an open, a rename, a temp file), once the folder it goes into exists. A
    FileNotFoundError makes the folder again and tries once more: a refused run removes the dated session
    folder it left empty (os.rmdir, dreamcli.sessions.writer), and a writer that made that folder just
    before must not lose its file to the race."""
    try:
        ensure_dir(path.parent)
        return make()
    except FileNotFoundError:
        ensure_dir(path.parent)
        return make()


def _not_a_directory(path: Path) -> NotADirectory:
    if path.is_symlink():
        return NotADirectory(f"{path}: a symbolic link to {os.readlink(path)}, which does not exist (remove the "
                             "link, or create the directory it names)")
    return NotADirectory(f"{path}: exists and is not a directory")


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True, keep_mode: bool = False) -> None:
    """Write `data` to `path` atomically (temp file in the same directory + os.replace), mode 0600.

    `keep_mode`: for a file that is the user's, not dreamcli's (CLAUDE.md, a CI step summary): keep the
    mode (and, where allowed, the group) of the file replaced; a new one gets 0666 less the umask, as an
    editor would create it."""
    import tempfile  # here, not at the top: commands that write nothing start without it

    path = Path(path)
    old: os.stat_result | None = None
    if keep_mode:
        with contextlib.suppress(FileNotFoundError):
            old = path.stat()
    prefix = temp_prefix(path)
    try:
        fd, tmp = into_dir(path, lambda: tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=path.parent))
    except OSError as e:  # a full or read-only disk: the file it is about is `path`, not a temp name
        _named(e, path, temp_prefix=prefix)
        raise
    try:
        if not keep_mode:
            os.fchmod(fd, FILE_MODE)
        elif old is not None:
            with contextlib.suppress(OSError):  # a group we are not in: not ours to give
                os.fchown(fd, -1, old.st_gid)
            os.fchmod(fd, old.st_mode & 0o7777)
        else:
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            _named(e, path, temp_prefix=prefix)
        raise


def temp_prefix(path: Path) -> str:
    """How the name of the temporary file `atomic_write_bytes` writes beside `path` begins in this process
    (`.NAME.PID.`, then tempfile's random letters and TEMP_SUFFIX): `is_temp_name` tells one apart."""
    return f".{Path(path).name}.{os.getpid()}."


def is_temp_name(name: str, prefix: str, suffix: str = "") -> bool:
    """Whether `name` is one tempfile.mkstemp or mkdtemp gives for `prefix` and `suffix`: the prefix, its 8
    random letters and the suffix, nothing else (with prefix `.x.`, `.x.ab12cd_4` is one; `.x.d` is not)."""
    middle = name[len(prefix):len(name) - len(suffix)]
    return (name.startswith(prefix) and name.endswith(suffix) and len(name) == len(prefix) + _TEMP_RANDOM + len(suffix)
            and set(middle) <= _TEMP_LETTERS)


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (/proc), else set and put back."""
    with contextlib.suppress(OSError, ValueError, StopIteration), open("/proc/self/status", encoding="ascii",
                                                                      errors="replace") as f:
        return int(next(line for line in f if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str, *, fsync: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def open_append(path: Path, *, readable: bool = False) -> int:
    """Open `path` for appending (created 0600); returns a raw fd. Each os.write of one line is one write().
    `readable` opens it read-write as well, for `line_start`."""
    path = Path(path)
    flags = (os.O_RDWR if readable else os.O_WRONLY) | os.O_APPEND | os.O_CREAT
    return into_dir(path, lambda: os.open(path, flags, FILE_MODE))


def sync_fd(fd: int, path: str | os.PathLike[str] | None = None) -> None:
    """os.fsync(fd). A failure (a full disk: fsync(2) names no file) names `path`, by default the file open at
    `fd`, so the one line the CLI prints for it says which file."""
    try:
        os.fsync(fd)
    except OSError as e:
        _named(e, path if path is not None else fd_path(fd))
        raise


@contextlib.contextmanager
def naming(path: str | os.PathLike[str] | None, *, temp_prefix: str | None = None) -> Iterator[None]:
    """An OSError raised inside that names no file (write(2), fsync(2), a buffered file's flush or close on a
    full disk), or only the temp file of an atomic write (`temp_prefix`), names `path` instead."""
    try:
        yield
    except OSError as e:
        _named(e, path, temp_prefix=temp_prefix)
        raise


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to `fd`. A failure (a full disk: write(2) names no file) names the file open at `fd`."""
    view = memoryview(data)
    try:
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError as e:
        _named(e, fd_path(fd))
        raise


def write_fully(stream: BinaryIO, data: bytes) -> None:
    """Write all of `data` to a binary stream (stdout) and flush it. A buffered stream over a pipe whose reader
    leaves half way through one big write takes part of it and says so only in its return value: the rest is
    offered again, so the reader's leaving raises BrokenPipeError (exit 141) instead of passing for a whole
    output."""
    view = memoryview(data)
    while view:
        n = stream.write(view)
        if not n:  # a blocking stream takes something or raises
            raise OSError(errno.EIO, "the output took none of what was written")
        view = view[n:]
    stream.flush()


def fd_path(fd: int) -> str | None:
    """The path of the file open at `fd`, where the system says it (Linux: /proc; macOS: F_GETPATH), else None."""
    with contextlib.suppress(OSError):
        return os.readlink(f"/proc/self/fd/{fd}")
    try:
        import fcntl
    except ImportError:  # Windows
        return None
    get_path = getattr(fcntl, "F_GETPATH", None)
    if get_path is None:
        return None
    with contextlib.suppress(OSError):
        return os.fsdecode(fcntl.fcntl(fd, get_path, bytes(1024)).split(b"\0", 1)[0])
    return None


def _named(e: OSError, path: str | os.PathLike[str] | None, *, temp_prefix: str | None = None) -> OSError:
    """`e`, naming `path` when it names no file (write(2) and fsync(2) on a full disk name none) or only the
    temp file of an atomic write (`temp_prefix`): so the one line the CLI prints for it says which file."""
    name = e.filename
    temp = isinstance(name, str) and temp_prefix is not None and os.path.basename(name).startswith(temp_prefix)
    if path is not None and e.errno is not None and (name is None or temp):
        e.filename = os.fspath(path)
    return e


def line_start(fd: int) -> bytes:
    """b"\\n" when the file open at `fd` is not empty and does not end with a newline (a torn write, an
    editor's save), so the next line appended starts on a line of its own instead of being glued to it.
    `fd` must be readable (`open_append(path, readable=True)`); one pread of the last byte."""
    size = os.fstat(fd).st_size
    if not size:
        return b""
    try:
        last = os.pread(fd, 1, size - 1)
    except OSError:  # not seekable (a FIFO, a terminal): nothing to glue onto
        return b""
    return b"\n" if last not in (b"\n", b"") else b""


def append_line(path: Path, line: str, *, fsync: bool = False) -> None:
    """Append one whole line (a trailing newline is added if missing) in a single write(), on a line of its
    own even when the file's last line has no newline."""
    if not line.endswith("\n"):
        line += "\n"
    fd = open_append(path, readable=True)
    try:
        write_all(fd, line_start(fd) + line.encode("utf-8"))
        if fsync:
            os.fsync(fd)
    except OSError as e:
        _named(e, path)
        raise
    finally:
        os.close(fd)


def open_nofollow(path: Path, buffering: int = -1) -> BinaryIO:
    """`path` opened to read bytes, refused (OSError: ELOOP) when it is a symlink: for a file an untrusted
    tree names, which may have been swapped for a link since it was listed."""
    return os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb", buffering)


def read_private(path: Path, what: str) -> bytes | None:
    """The bytes of a file that grants something (remembered approvals, trusted workspaces): None when it
    does not exist; InputError (exit 2) naming `what` when it cannot be read, is a symlink, or is not
    this user's file with mode 0600 (a file another user or a checkout wrote is never honoured)."""
    import stat

    from dreamcli.errors import InputError

    try:  # O_NONBLOCK: a FIFO planted in its place must not hang the command
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as e:
        raise InputError(f"cannot read {what}: {e.strerror}", file=str(path)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # a directory or a FIFO: checked before a file object is made of it
        os.close(fd)
        raise InputError(f"{what} must be a regular file; delete it to be asked again", file=str(path))
    with os.fdopen(fd, "rb") as f:
        raw = f.read()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise InputError(f"{what} must be this user's file, mode 0600; delete it to be asked again",
                         file=str(path))
    return raw


def check_output_file(path: Path, what: str) -> None:
    """Refuse (UsageError, exit 2, one line naming `what`, e.g. "--junit") an output path that cannot be
    written as a regular file by `atomic_write_bytes`: an existing target that is not a regular file (a
    directory, a symbolic link, a FIFO, a device: the rename would replace it with a plain file), or a
    parent that is not a directory. A missing target, and missing parent directories, are fine."""
    import stat

    from dreamcli.errors import UsageError

    path = Path(path)
    if str(path) in ("", "."):
        raise UsageError(f"{what}: give a file name")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise UsageError(f"{what} {path}: {e.strerror or e}") from None
    if mode is not None:
        if stat.S_ISLNK(mode):
            raise UsageError(f"{what} {path}: a symbolic link, not a regular file (refused: give the file it "
                             "points to, or a new name)")
        if stat.S_ISDIR(mode):
            raise UsageError(f"{what} {path}: a directory, not a regular file (give a file name)")
        if not stat.S_ISREG(mode):
            raise UsageError(f"{what} {path}: exists and is not a regular file (refused)")
        return
    parent = path.parent
    while not os.path.lexists(parent) and parent.parent != parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{what} {path}: {parent} is not a directory")


def output_error(e: OSError, path: Path, what: str, *, doing: str = "write it",
                 elsewhere: str | None = None) -> DreamError:
    """Why an output the user named (`what` and `path`: `--html ro/r.html`) could not be written, as one line:
    the machine's (a full disk or quota, a read-only file system, an I/O error: exit 74, `storage_error`, its
    advice naming `elsewhere`, by default another `what`), else the path's (no permission, a folder that is a
    file: exit 2). The file that failed is named too when it is another (a folder that could not be made)."""
    from dreamcli.errors import storage_error

    _named(e, path, temp_prefix=temp_prefix(path))  # the temporary beside `path` is `path` to the user
    stored = storage_error(e, elsewhere=elsewhere or f"another {what} FILE")
    if stored is not None:
        return stored
    failed = os.fsdecode(e.filename) if isinstance(e.filename, str | bytes) else None
    also = f" ({failed})" if failed and os.path.abspath(failed) != os.path.abspath(path) else ""
    return UsageError(f"{what} {path}: cannot {doing}: {e.strerror or e}{also}")


def write_output_file(path: Path, data: bytes, what: str) -> None:
    """Write a file the user named (`what`, e.g. "--html") atomically, refused first as `check_output_file`
    refuses; an OSError is the one line of `output_error` (exit 2 or 74), never an internal error."""
    check_output_file(path, what)
    try:
        atomic_write_bytes(path, data)
    except OSError as e:
        raise output_error(e, path, what) from None
