"""What the file tools do, on paths already confined to the workdir: read, write, edit, glob, grep.

Pure functions over a root directory; each returns the text (or content blocks) for the model
and raises `FileToolError` with an error kind for expected failures. Confinement (`..`, symlinks,
hard links) is `dreamcli.agent.tools.paths`; the approval gate and the output cap are the tool's.
"""

from __future__ import annotations

import base64
import os
import re
import stat
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Any

from dreamcli.agent.tools.paths import OutsideRoot, confine, open_nofollow, real_root, refuse_hard_links

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
SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


class FileToolError(Exception):
    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def resolve(root: Path, path: str, op: str) -> Path:
    try:
        return confine(root, path)
    except OutsideRoot as e:
        raise FileToolError(f"{op}: {e}", "outside_root") from e


def _regular(target: Path, shown: str, op: str) -> os.stat_result:
    try:
        refuse_hard_links(target, shown)
        st = os.stat(target)
    except OutsideRoot as e:
        raise FileToolError(f"{op}: {e}", "outside_root") from e
    except FileNotFoundError as e:
        raise FileToolError(f"{op}: {shown}: no such file", "not_found") from e
    except NotADirectoryError as e:
        raise FileToolError(f"{op}: {shown}: not a directory", "not_found") from e
    if not stat.S_ISREG(st.st_mode):
        raise FileToolError(f"{op}: {shown}: not a regular file", "invalid_input")
    return st


def _read_bytes(target: Path, op: str) -> bytes:
    try:
        fd = open_nofollow(target, os.O_RDONLY)
    except OutsideRoot as e:
        raise FileToolError(f"{op}: {e}", "outside_root") from e
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _decode(data: bytes, shown: str, op: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileToolError(f"{op}: {shown}: not valid UTF-8 text (only images and PDFs are read as binary)",
                            "invalid_input") from e


def read(root: Path, path: str, view_range: list[int] | None) -> str | list[dict[str, Any]]:
    target = resolve(root, path, "read")
    if view_range is not None and (len(view_range) != 2 or not all(isinstance(n, int) for n in view_range)):
        raise FileToolError("read: view_range must be [start_line, end_line]", "invalid_input")
    st = _regular(target, path, "read")
    media = MEDIA_TYPES.get(target.suffix.lower())
    if media is not None:
        if view_range:
            raise FileToolError("read: view_range is not supported for images and PDFs", "invalid_input")
        limit = MAX_PDF_BYTES if media == "application/pdf" else MAX_IMAGE_BYTES
        if st.st_size > limit:
            raise FileToolError(f"read: {path} is {st.st_size} bytes, over the {limit}-byte limit", "invalid_input")
        data = base64.standard_b64encode(_read_bytes(target, "read")).decode("ascii")
        kind = "document" if media == "application/pdf" else "image"
        return [{"type": kind, "source": {"type": "base64", "media_type": media, "data": data}}]
    if st.st_size > MAX_TEXT_BYTES:
        if not view_range:
            raise FileToolError(f"read: {path} is {st.st_size} bytes, over the {MAX_TEXT_BYTES}-byte limit; "
                                "pass view_range, e.g. [1, 500]", "invalid_input")
        return _line_range(target, path, view_range[0], view_range[1])
    text = _decode(_read_bytes(target, "read"), path, "read")
    if not view_range:
        return text
    lines = text.split("\n")
    start, end = max(0, view_range[0] - 1), (view_range[1] if view_range[1] > 0 else len(lines))
    return "\n".join(lines[start:end])


def _line_range(target: Path, shown: str, first: int, last: int) -> str:
    """Lines first..last (1-based; last <= 0 means the end) of a large file, read as a stream."""
    out: list[str] = []
    size = 0
    try:
        fd = open_nofollow(target, os.O_RDONLY)
    except OutsideRoot as e:
        raise FileToolError(f"read: {e}", "outside_root") from e
    with os.fdopen(fd, "rb") as f:
        for number, raw in enumerate(f, 1):
            if number < first:
                continue
            if last > 0 and number > last:
                break
            size += len(raw)
            if size > MAX_TEXT_BYTES:
                raise FileToolError(f"read: lines {first}-{last} of {shown} are over {MAX_TEXT_BYTES} bytes; "
                                    "ask for fewer", "invalid_input")
            out.append(_decode(raw, shown, "read"))
    return "".join(out).removesuffix("\n")


def write(root: Path, target: Path, shown: str, content: str) -> str:
    try:
        refuse_hard_links(target, shown)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = open_nofollow(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    except OutsideRoot as e:
        raise FileToolError(f"write: {e}", "outside_root") from e
    except (NotADirectoryError, FileExistsError, IsADirectoryError) as e:
        raise FileToolError(f"write: {shown}: {e.strerror}", "invalid_input") from e
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(content)
    return f"wrote {len(content.encode())} bytes to {shown}"


def edit(target: Path, shown: str, old: str, new: str, replace_all: bool) -> str:
    st = _regular(target, shown, "edit")
    if st.st_size > MAX_TEXT_BYTES:
        raise FileToolError(f"edit: {shown} is {st.st_size} bytes, too large to edit", "invalid_input")
    text = _decode(_read_bytes(target, "edit"), shown, "edit")
    if not old:
        raise FileToolError("edit: old_string is empty", "invalid_input")
    count = text.count(old)
    if count == 0:
        raise FileToolError(f"edit: old_string not found in {shown}", "invalid_input")
    if count > 1 and not replace_all:
        raise FileToolError(f"edit: old_string occurs {count} times in {shown}; make it unique or pass "
                            "replace_all", "invalid_input")
    updated = text.replace(old, new) if replace_all else text.replace(old, new, 1)
    fd = open_nofollow(target, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(updated)
    return f"edited {shown} ({count if replace_all else 1} replacement(s))"


def _inside(path: Path, base: Path) -> bool:
    try:
        real = Path(os.path.realpath(path))
    except OSError:
        return False
    return real == base or real.is_relative_to(base)


def glob(root: Path, pattern: str, path: str | None) -> str:
    if not pattern or os.path.isabs(pattern):
        raise FileToolError("glob: absolute pattern not permitted; pass a relative one", "outside_root")
    if ".." in PurePosixPath(pattern).parts:
        raise FileToolError("glob: '..' is not permitted in the pattern", "outside_root")
    base = real_root(root)
    search = resolve(root, path, "glob") if path else base
    try:
        matches = [m for m in islice(search.glob(pattern), WALK_MAX_ENTRIES) if _inside(m, base)]
    except (ValueError, OSError) as e:
        raise FileToolError(f"glob: {e}", "invalid_input") from e
    if not matches:
        return "no matches"

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    matches.sort(key=lambda p: (-mtime(p), str(p)))
    return "\n".join(m.relative_to(base).as_posix() for m in matches[:GLOB_RESULTS])


def _walk(start: Path, base: Path) -> Iterator[Path]:
    if start.is_file():
        yield start
        return
    seen = 0
    for folder, dirs, files in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(files):
            seen += 1
            if seen > WALK_MAX_ENTRIES:
                return
            full = Path(folder) / name
            if _inside(full, base):
                yield full


def grep(root: Path, pattern: str, path: str | None) -> str:
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise FileToolError(f"grep: invalid regex: {e}", "invalid_input") from e
    base = real_root(root)
    search = resolve(root, path, "grep") if path else base
    if not search.exists():
        raise FileToolError(f"grep: {path}: no such file or directory", "not_found")
    hits: list[str] = []
    size = 0
    deadline = time.monotonic() + GREP_SECONDS
    for file in _walk(search, base):
        if time.monotonic() > deadline:
            hits.append(f"[search stopped after {GREP_SECONDS:g}s]")
            break
        try:
            if file.stat().st_size > GREP_MAX_FILE_BYTES:
                continue
            data = file.read_bytes()
        except OSError:
            continue
        if b"\x00" in data[:8192]:
            continue
        shown = file.relative_to(base).as_posix()
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if rx.search(line):
                entry = f"{shown}:{number}:{line[:GREP_LINE_CHARS]}"
                size += len(entry) + 1
                if size > GREP_OUTPUT_BYTES:
                    hits.append(f"[output truncated at {GREP_OUTPUT_BYTES} bytes]")
                    return "\n".join(hits)
                hits.append(entry)
    return "\n".join(hits) if hits else "no matches"
