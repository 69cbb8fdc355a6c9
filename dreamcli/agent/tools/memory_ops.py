"""The memory tool's commands (view, create, str_replace, insert, delete, rename) on one store.

The model sees the store as `/memories`; every path must be under it. Paths are confined to the
store's directory like the file tools' (`..`, symlinks, hard links refused), and files are opened
by walking from the workspace (`paths.open_under`), never through a symlink: the store folder
itself (`memory/<store>/memories`) or a folder above it inside the workspace that is a symlink is
refused, not followed. Files are written 0600 and every folder made 0700. The text a command
leaves in a file goes through `redact` before it is written (a secret may be assembled from
pieces), and a new path holding a secret is refused. Each command returns the text for the model
or raises `MemoryToolError` with an error kind.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dreamcli.agent.tools.paths import (
    NotRegularFile,
    OutsideRoot,
    confine,
    open_dir_under,
    open_under,
    real_root,
    refuse_hard_links,
)

PREFIX = "/memories"
MAX_FILE_BYTES = 256 * 1024


class MemoryToolError(Exception):
    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _no_redaction(text: str) -> str:
    return text


class MemoryStore:
    """The store in folder `root`; `anchor` (the workspace, by default root's parent) is where the
    walk to every file starts: no folder from there down to `root` may be a symlink."""

    def __init__(self, root: Path, *, anchor: Path | None = None,
                 redact: Callable[[str], str] = _no_redaction) -> None:
        self.root = root
        self.anchor = anchor if anchor is not None else root.parent
        self.redact = redact

    # --- paths ----------------------------------------------------------------------------------
    def root_problem(self) -> str | None:
        """Why the store cannot be used (a symlink on the way to it), or None."""
        rel = self.root.relative_to(self.anchor).parts
        for n in range(1, len(rel) + 1):
            try:
                st = os.lstat(self.anchor.joinpath(*rel[:n]))
            except FileNotFoundError:
                return None
            if stat.S_ISLNK(st.st_mode):
                return (f"memory: the memory store folder {'/'.join(rel[:n])} is a symlink; it is not followed "
                        "out of the workspace (make it a real folder)")
        return None

    def resolve(self, path: str, *, new: bool = False) -> Path:
        if not isinstance(path, str) or not (path == PREFIX or path.startswith(PREFIX + "/")):
            raise MemoryToolError(f"memory: {path!r}: paths must start with {PREFIX}", "outside_root")
        problem = self.root_problem()
        if problem:
            raise MemoryToolError(problem, "outside_root")
        if new and self.redact(path) != path:
            raise MemoryToolError("memory: the path holds a secret; choose a file name without it", "invalid_input")
        rest = path[len(PREFIX):].lstrip("/")
        try:
            target = confine(self.root, rest or ".")
            refuse_hard_links(target, path)
        except OutsideRoot as e:
            raise MemoryToolError(f"memory: {path} escapes {PREFIX} ({e})", "outside_root") from e
        return target

    def shown(self, target: Path) -> str:
        base = real_root(self.root)
        rel = target.relative_to(base).as_posix()
        return PREFIX if rel == "." else f"{PREFIX}/{rel}"

    @contextmanager
    def _folder(self, target: Path, path: str, *, make: bool = False) -> Iterator[int]:
        """A descriptor of the folder `target`, reached from the anchor without following a symlink."""
        try:
            fd = open_dir_under(real_root(self.anchor), target, dir_mode=0o700 if make else None)
        except OutsideRoot as e:
            raise MemoryToolError(f"memory: {path} escapes {PREFIX} ({e})", "outside_root") from e
        except (FileNotFoundError, NotADirectoryError) as e:
            raise MemoryToolError(f"memory: {path} does not exist", "not_found") from e
        try:
            yield fd
        finally:
            os.close(fd)

    def _open(self, target: Path, path: str, flags: int) -> int:
        """Only a write (O_CREAT) makes missing folders: a view, str_replace or insert of a path that is not
        there is `not_found` and leaves the store as it was."""
        dir_mode = 0o700 if flags & os.O_CREAT else None
        try:
            return open_under(real_root(self.anchor), target, flags, shown=path, mode=0o600, dir_mode=dir_mode)
        except OutsideRoot as e:
            raise MemoryToolError(f"memory: {path} escapes {PREFIX} ({e})", "outside_root") from e
        except NotRegularFile as e:
            raise MemoryToolError(f"memory: {path} is not a file", "invalid_input") from e
        except (FileNotFoundError, NotADirectoryError) as e:
            raise MemoryToolError(f"memory: {path} does not exist", "not_found") from e
        except IsADirectoryError as e:
            raise MemoryToolError(f"memory: {path} is a directory", "invalid_input") from e

    def _read(self, target: Path, path: str) -> str:
        with os.fdopen(self._open(target, path, os.O_RDONLY), "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise MemoryToolError(f"memory: {path} is over {MAX_FILE_BYTES} bytes", "invalid_input")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MemoryToolError(f"memory: {path} is not UTF-8 text", "invalid_input") from e

    def _write(self, target: Path, path: str, text: str) -> None:
        text = self.redact(text)  # the whole new text: a secret may be assembled from pieces
        if len(text.encode()) > MAX_FILE_BYTES:
            raise MemoryToolError(f"memory: a file may hold at most {MAX_FILE_BYTES} bytes", "invalid_input")
        fd = self._open(target, path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(fd, 0o600)
            f.write(text)

    # --- commands -------------------------------------------------------------------------------
    def view(self, path: str, view_range: Any = None) -> str:
        target = self.resolve(path)
        if target.is_dir():
            return self._listing(target, path)
        text = self._read(target, path)
        rows = text.split("\n")
        first, last = 1, len(rows)
        if view_range is not None:
            if not (isinstance(view_range, list) and len(view_range) == 2
                    and all(isinstance(n, int) for n in view_range)):
                raise MemoryToolError("memory view: view_range must be [start, end]", "invalid_input")
            first = max(1, view_range[0])
            last = len(rows) if view_range[1] < 0 else min(len(rows), view_range[1])
        numbered = [f"{n:6d}\t{rows[n - 1]}" for n in range(first, last + 1)]
        return f"Content of {self.shown(target)}:\n" + "\n".join(numbered)

    def _listing(self, target: Path, path: str) -> str:
        lines = [f"Directory {self.shown(target)}:"]
        with self._folder(target, path) as fd:
            for folder, dirs, files, dfd in os.fwalk(".", dir_fd=fd):  # never follows a symlink
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                depth = Path(folder).parts
                if len(depth) >= 2:
                    dirs[:] = []
                for name in sorted(f for f in files if not f.startswith(".")):
                    size = os.lstat(name, dir_fd=dfd).st_size
                    lines.append(f"- {self.shown(target / folder / name)} ({size} bytes)")
        return "\n".join(lines) if len(lines) > 1 else lines[0] + "\n(empty)"

    def create(self, path: str, file_text: str) -> str:
        target = self.resolve(path, new=True)
        if target.is_dir():
            raise MemoryToolError(f"memory: {path} is a directory", "invalid_input")
        self._write(target, path, file_text)
        return f"File created successfully at {self.shown(target)}"

    def str_replace(self, path: str, old_str: str, new_str: str) -> str:
        target = self.resolve(path)
        text = self._read(target, path)
        count = text.count(old_str) if old_str else 0
        if count == 0:
            raise MemoryToolError(f"memory: old_str not found in {path}", "invalid_input")
        if count > 1:
            raise MemoryToolError(f"memory: old_str occurs {count} times in {path}; make it unique",
                                  "invalid_input")
        self._write(target, path, text.replace(old_str, new_str, 1))
        return f"The memory file {self.shown(target)} has been edited"

    def insert(self, path: str, insert_line: int, insert_text: str) -> str:
        target = self.resolve(path)
        rows = self._read(target, path).split("\n")
        if not isinstance(insert_line, int) or not 0 <= insert_line <= len(rows):
            raise MemoryToolError(f"memory: insert_line must be between 0 and {len(rows)}", "invalid_input")
        rows[insert_line:insert_line] = insert_text.removesuffix("\n").split("\n")
        self._write(target, path, "\n".join(rows))
        return f"Text inserted at line {insert_line} of {self.shown(target)}"

    def delete(self, path: str) -> str:
        target = self.resolve(path)
        if target == real_root(self.root):
            raise MemoryToolError(f"memory: cannot delete {PREFIX} itself", "invalid_input")
        with self._folder(target.parent, path) as parent:
            try:
                st = os.lstat(target.name, dir_fd=parent)
            except FileNotFoundError:
                raise MemoryToolError(f"memory: {path} does not exist", "not_found") from None
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(target.name, dir_fd=parent)
            else:
                os.unlink(target.name, dir_fd=parent)
        return f"Deleted {path}"

    def rename(self, old_path: str, new_path: str) -> str:
        source, dest = self.resolve(old_path), self.resolve(new_path, new=True)
        if not source.exists():
            raise MemoryToolError(f"memory: {old_path} does not exist", "not_found")
        if dest.exists():
            raise MemoryToolError(f"memory: {new_path} already exists", "invalid_input")
        if source == real_root(self.root):
            raise MemoryToolError(f"memory: cannot rename {PREFIX} itself", "invalid_input")
        with self._folder(source.parent, old_path) as src, self._folder(dest.parent, new_path, make=True) as dst:
            os.rename(source.name, dest.name, src_dir_fd=src, dst_dir_fd=dst)
        return f"Renamed {old_path} to {new_path}"
