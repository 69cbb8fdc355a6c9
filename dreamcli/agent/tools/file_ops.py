"""What the file tools do, on paths already confined to the workdir: read, write, edit, glob, grep.

Pure functions over a root directory; each returns the text (or content blocks) for the model
and raises `FileToolError` with an error kind for expected failures. Confinement (`..`, symlinks,
hard links, the `fences` of dreamcli's own files inside the root) and the race-free opening of files
(`open_under`: regular files with one link only) are `dreamcli.agent.tools.paths`; the approval gate
and the output cap are the tool's. `os_error_kind` says whether an OSError is about the model's input.
"""

from __future__ import annotations

import base64
import errno
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from dreamcli.agent.tools.globbing import glob_listing
from dreamcli.agent.tools.paths import (
    Fence,
    Idents,
    NotRegularFile,
    OutsideRoot,
    confine,
    fenced,
    open_under,
    own_files_error,
    real_root,
    refuse_workspace_dir,
)

MAX_TEXT_BYTES = 256 * 1024  # a whole-file read or an edit; larger files need view_range
MAX_IMAGE_BYTES = 3_750_000  # 5 MB once base64-encoded (the API's image limit)
MAX_PDF_BYTES = 20 * 1024 * 1024
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp", ".pdf": "application/pdf"}
GLOB_RESULTS = 200
WALK_MAX_ENTRIES = 50_000
GREP_OUTPUT_BYTES = 100 * 1024
GREP_LINE_CHARS = 2000
GREP_MAX_FILE_BYTES = 10 * 1024 * 1024
GREP_SECONDS = 20.0
SKIP_CHUNK = 64 * 1024  # lines before a view_range are read in pieces this long
SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
# errors about the path the model gave; any other OSError (EACCES, EROFS, ENOSPC, EIO ...) is the machine's
INPUT_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG,
                          errno.ELOOP, errno.EINVAL, errno.EILSEQ})


class FileToolError(Exception):
    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def os_error_kind(e: OSError) -> str:
    """`invalid_input` for an error about the path the model gave (too long, a folder, ...), else
    `exception`: a read-only or full disk, a permission, an I/O error is no fault of the model's input."""
    return "invalid_input" if e.errno in INPUT_ERRNOS else "exception"


def resolve(root: Path, path: str, op: str, fences: Iterable[Fence] = (), known: Idents | None = None) -> Path:
    try:
        return confine(root, path, fences, known=known)
    except OutsideRoot as e:
        raise FileToolError(f"{op}: {e}", "outside_root") from e


def not_in_a_workspace(root: Path, path: str, target: Path, op: str) -> None:
    """A write or edit of `target` (resolved) makes or changes no `.dreamcli` folder, which a later run
    from there would load as its workspace."""
    try:
        refuse_workspace_dir(root, path, target)
    except OutsideRoot as e:
        raise FileToolError(f"{op}: {e}", "outside_root") from e


def _open(root: Path, target: Path, shown: str, op: str, flags: int = os.O_RDONLY, *, private: bool = False,
          fences: tuple[Fence, ...] = ()) -> int:
    """The file `target` opened by `paths.open_under`: a regular file with one link, reached without
    following a symlink nor through a folder that is one of `fences` by identity, whatever changed since
    `resolve`. Only `write` makes missing folders: a read, an
    edit or a grep of a path that is not there is `not_found` and leaves the workdir as it was. What
    `write` makes follows the umask, or is 0600 (folders 0700) when `private` (a workdir copied into the
    workspace)."""
    dir_mode = (0o700 if private else 0o777) if op == "write" else None
    try:
        return open_under(real_root(root), target, flags, shown=shown, mode=0o600 if private else 0o666,
                          dir_mode=dir_mode, fences=fences)
    except OutsideRoot as e:
        raise FileToolError(f"{op}: {e}", "outside_root") from e
    except NotRegularFile as e:
        raise FileToolError(f"{op}: {e}", "invalid_input") from e
    except FileNotFoundError as e:
        raise FileToolError(f"{op}: {shown}: no such file", "not_found") from e
    except NotADirectoryError as e:
        if op == "write":
            raise FileToolError(f"write: {shown}: {e.strerror}", "invalid_input") from e
        raise FileToolError(f"{op}: {shown}: not a directory", "not_found") from e
    except (FileExistsError, IsADirectoryError) as e:
        raise FileToolError(f"{op}: {shown}: {e.strerror}", "invalid_input") from e


def _read_at_most(f: BinaryIO, limit: int) -> bytes | None:
    """The rest of `f`, or None when it holds more than `limit` bytes (a file may grow after fstat)."""
    data = f.read(limit + 1)
    return None if len(data) > limit else data


def _decode(data: bytes, shown: str, op: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileToolError(f"{op}: {shown}: not valid UTF-8 text (only images and PDFs are read as binary)",
                            "invalid_input") from e


def read(root: Path, path: str, view_range: list[int] | None,
         fences: tuple[Fence, ...] = ()) -> str | list[dict[str, Any]]:
    target = resolve(root, path, "read", fences)
    if view_range is not None and (len(view_range) != 2 or not all(isinstance(n, int) for n in view_range)):
        raise FileToolError("read: view_range must be [start_line, end_line]", "invalid_input")
    with os.fdopen(_open(root, target, path, "read", fences=fences), "rb") as f:
        size = os.fstat(f.fileno()).st_size
        media = MEDIA_TYPES.get(target.suffix.lower())
        if media is not None:
            if view_range:
                raise FileToolError("read: view_range is not supported for images and PDFs", "invalid_input")
            limit = MAX_PDF_BYTES if media == "application/pdf" else MAX_IMAGE_BYTES
            raw = _read_at_most(f, limit) if size <= limit else None
            if raw is None:
                raise FileToolError(f"read: {path} is {max(size, limit + 1)} bytes, over the {limit}-byte limit",
                                    "invalid_input")
            data = base64.standard_b64encode(raw).decode("ascii")
            kind = "document" if media == "application/pdf" else "image"
            return [{"type": kind, "source": {"type": "base64", "media_type": media, "data": data}}]
        whole = _read_at_most(f, MAX_TEXT_BYTES) if size <= MAX_TEXT_BYTES else None
        if whole is None:
            if not view_range:
                raise FileToolError(f"read: {path} is {max(size, MAX_TEXT_BYTES + 1)} bytes, over the "
                                    f"{MAX_TEXT_BYTES}-byte limit; pass view_range, e.g. [1, 500]", "invalid_input")
            f.seek(0)
            return _line_range(f, path, view_range[0], view_range[1])
    text = _decode(whole, path, "read")
    if not view_range:
        return text
    lines = text.split("\n")
    start, end = max(0, view_range[0] - 1), (view_range[1] if view_range[1] > 0 else len(lines))
    return "\n".join(lines[start:end])


def _line_range(f: BinaryIO, shown: str, first: int, last: int) -> str:
    """Lines first..last (1-based; last <= 0 means the end) of a large file, read as a stream: no
    line is read whole, so one enormous line costs at most MAX_TEXT_BYTES of memory."""
    out: list[str] = []
    size = 0
    number = 0  # lines read so far
    while last <= 0 or number < last:
        if number + 1 < first:  # a line before the range: skipped in chunks
            chunk = f.readline(SKIP_CHUNK)
            if not chunk:
                break
            if chunk.endswith(b"\n"):
                number += 1
            continue
        raw = f.readline(MAX_TEXT_BYTES - size + 1)
        if not raw:
            break
        size += len(raw)
        if size > MAX_TEXT_BYTES:
            raise FileToolError(f"read: lines {first}-{last} of {shown} are over {MAX_TEXT_BYTES} bytes; "
                                "ask for fewer", "invalid_input")
        number += 1
        out.append(_decode(raw, shown, "read"))
    return "".join(out).removesuffix("\n")


def write(root: Path, target: Path, shown: str, content: str, *, private: bool = False,
          fences: tuple[Fence, ...] = ()) -> str:
    """Write `content` to `target`; a new file is 0600 when `private`, else as the umask allows (an
    existing file keeps its mode)."""
    fd = _open(root, target, shown, "write", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, private=private, fences=fences)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(content)
    return f"wrote {len(content.encode())} bytes to {shown}"


def edit(root: Path, target: Path, shown: str, old: str, new: str, replace_all: bool,
         fences: tuple[Fence, ...] = ()) -> str:
    with os.fdopen(_open(root, target, shown, "edit", os.O_RDWR, fences=fences), "r+b") as f:
        size = os.fstat(f.fileno()).st_size
        data = _read_at_most(f, MAX_TEXT_BYTES) if size <= MAX_TEXT_BYTES else None
        if data is None:
            raise FileToolError(f"edit: {shown} is {max(size, MAX_TEXT_BYTES + 1)} bytes, too large to edit",
                                "invalid_input")
        text = _decode(data, shown, "edit")
        if not old:
            raise FileToolError("edit: old_string is empty", "invalid_input")
        count = text.count(old)
        if count == 0:
            raise FileToolError(f"edit: old_string not found in {shown}", "invalid_input")
        if count > 1 and not replace_all:
            raise FileToolError(f"edit: old_string occurs {count} times in {shown}; make it unique or pass "
                                "replace_all", "invalid_input")
        updated = text.replace(old, new) if replace_all else text.replace(old, new, 1)
        f.seek(0)
        f.truncate()
        f.write(updated.encode("utf-8"))
    return f"edited {shown} ({count if replace_all else 1} replacement(s))"


def glob(root: Path, pattern: str, path: str | None, fences: tuple[Fence, ...] = ()) -> str:
    """The names matching `pattern`, newest first. Listed from folders opened and checked by descriptor
    (`globbing.glob_listing`): a folder renamed or mounted in place after `resolve` checked it is refused."""
    if not pattern or os.path.isabs(pattern):
        raise FileToolError("glob: absolute pattern not permitted; pass a relative one", "outside_root")
    if ".." in PurePosixPath(pattern).parts:
        raise FileToolError("glob: '..' is not permitted in the pattern", "outside_root")
    base = real_root(root)
    known: Idents = {}  # each folder's identity is stat'ed once for the whole call
    search = resolve(root, path, "glob", fences, known) if path else base
    try:
        found = glob_listing(base, search, pattern, fences, known, WALK_MAX_ENTRIES)
    except OutsideRoot as e:
        raise FileToolError(f"glob: {e}", "outside_root") from e
    except ValueError as e:
        raise FileToolError(f"glob: {e}", "invalid_input") from e
    except OSError as e:  # no descriptor left (a deep tree), ...: not the model's input
        raise FileToolError(f"glob: {e.strerror or e}", os_error_kind(e)) from e
    if not found.found and found.own is not None:  # all it found is dreamcli's own: say so
        raise FileToolError(f"glob: {own_files_error(f'all that {pattern} matches', found.own, base)}", "outside_root")
    if not found.found:
        return "no matches"
    matches = sorted(found.found.items(), key=lambda item: (-item[1], item[0]))
    return "\n".join(rel for rel, _ in matches[:GLOB_RESULTS])


def _walk(start: Path, base: Path, fences: tuple[Fence, ...] = (), known: Idents | None = None) -> Iterator[Path]:
    """The files under the folder `start` (not through symlinked folders nor into a fence), at most
    WALK_MAX_ENTRIES. Each folder's identity, stat'ed as the walk enters it, goes into `known`: it prunes
    the walk, while each file is checked again as it is opened (`_grep_text`)."""
    seen = 0
    for folder, dirs, files in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not os.path.islink(os.path.join(folder, d))
                         and fenced(Path(folder) / d, fences, known=known) is None)
        for name in sorted(files):
            seen += 1
            if seen > WALK_MAX_ENTRIES:
                return
            yield Path(folder) / name


def _grep_text(root: Path, base: Path, file: Path, shown: str, fences: tuple[Fence, ...] = (),
               known: Idents | None = None) -> str | None:
    """The text of one walked file, or None to skip it: outside the root (real path `base`) or in a fence, a
    symlink or hard link, not a regular file, unreadable, too large or binary. `known` (the call's cache)
    only skips early: the folders actually opened are compared with the fences, so one renamed or mounted
    since the walk saw it is refused too."""
    try:
        fd = open_under(base, confine(root, str(file), fences, known=known), os.O_RDONLY, shown=shown,
                        fences=fences)
    except (OutsideRoot, NotRegularFile, OSError):
        return None
    with os.fdopen(fd, "rb") as f:
        data = _read_at_most(f, GREP_MAX_FILE_BYTES)
    if data is None or b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def grep(root: Path, pattern: str, path: str | None, fences: tuple[Fence, ...] = ()) -> str:
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise FileToolError(f"grep: invalid regex: {e}", "invalid_input") from e
    base = real_root(root)
    known: Idents = {}  # each folder's identity is stat'ed once for the whole call, to prune the walk
    search = resolve(root, path, "grep", fences, known) if path else base
    try:
        folder = stat.S_ISDIR(os.lstat(search).st_mode)
    except (FileNotFoundError, NotADirectoryError) as e:
        raise FileToolError(f"grep: {path}: no such file or directory", "not_found") from e
    texts: Iterator[tuple[str, str | None]]
    if folder:
        texts = ((shown, _grep_text(root, base, f, shown, fences, known))
                 for f in _walk(search, base, fences, known) for shown in [f.relative_to(base).as_posix()])
    else:  # one file, named: refused as `read` refuses it
        shown = search.relative_to(base).as_posix()
        with os.fdopen(_open(root, search, path or shown, "grep", fences=fences), "rb") as f:
            data = _read_at_most(f, GREP_MAX_FILE_BYTES)
        single = None if data is None or b"\x00" in data[:8192] else data.decode("utf-8", errors="replace")
        texts = iter([(shown, single)])
    hits: list[str] = []
    size = 0
    deadline = time.monotonic() + GREP_SECONDS
    for shown, text in texts:
        if time.monotonic() > deadline:
            hits.append(f"[search stopped after {GREP_SECONDS:g}s]")
            break
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if rx.search(line):
                entry = f"{shown}:{number}:{line[:GREP_LINE_CHARS]}"
                size += len(entry) + 1
                if size > GREP_OUTPUT_BYTES:
                    hits.append(f"[output truncated at {GREP_OUTPUT_BYTES} bytes]")
                    return "\n".join(hits)
                hits.append(entry)
    return "\n".join(hits) if hits else "no matches"
