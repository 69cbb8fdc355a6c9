"""The memory tool's commands (view, create, str_replace, insert, delete, rename) on one store.

The model sees the store as `/memories`; every path must be under it. Paths are confined to the
store's directory like the file tools' (`..`, symlinks, hard links refused), files are written
0600 and folders 0700. Each command returns the text for the model or raises `MemoryError_`
with an error kind.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

from dreamcli.agent.tools.paths import OutsideRoot, confine, open_nofollow, real_root, refuse_hard_links

PREFIX = "/memories"
MAX_FILE_BYTES = 256 * 1024


class MemoryToolError(Exception):
    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class MemoryStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    # --- paths ----------------------------------------------------------------------------------
    def resolve(self, path: str) -> Path:
        if not isinstance(path, str) or not (path == PREFIX or path.startswith(PREFIX + "/")):
            raise MemoryToolError(f"memory: {path!r}: paths must start with {PREFIX}", "outside_root")
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

    def _read(self, target: Path, path: str) -> str:
        try:
            st = os.stat(target)
        except FileNotFoundError as e:
            raise MemoryToolError(f"memory: {path} does not exist", "not_found") from e
        if not stat.S_ISREG(st.st_mode):
            raise MemoryToolError(f"memory: {path} is not a file", "invalid_input")
        if st.st_size > MAX_FILE_BYTES:
            raise MemoryToolError(f"memory: {path} is over {MAX_FILE_BYTES} bytes", "invalid_input")
        with os.fdopen(open_nofollow(target, os.O_RDONLY), "rb") as f:
            data = f.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MemoryToolError(f"memory: {path} is not UTF-8 text", "invalid_input") from e

    def _write(self, target: Path, text: str) -> None:
        if len(text.encode()) > MAX_FILE_BYTES:
            raise MemoryToolError(f"memory: a file may hold at most {MAX_FILE_BYTES} bytes", "invalid_input")
        base = real_root(self.root)
        folder = target.parent
        missing: list[Path] = []
        while folder != base and not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for d in reversed(missing):
            d.mkdir(mode=0o700)
        with os.fdopen(open_nofollow(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
                       encoding="utf-8") as f:
            f.write(text)
        os.chmod(target, 0o600)

    # --- commands -------------------------------------------------------------------------------
    def view(self, path: str, view_range: Any = None) -> str:
        target = self.resolve(path)
        if target.is_dir():
            lines = [f"Directory {self.shown(target)}:"]
            for folder, dirs, files in os.walk(target):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                depth = Path(folder).relative_to(target).parts
                if len(depth) >= 2:
                    dirs[:] = []
                for name in sorted(f for f in files if not f.startswith(".")):
                    full = Path(folder) / name
                    size = full.lstat().st_size
                    lines.append(f"- {self.shown(full)} ({size} bytes)")
            return "\n".join(lines) if len(lines) > 1 else lines[0] + "\n(empty)"
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

    def create(self, path: str, file_text: str) -> str:
        target = self.resolve(path)
        if target.is_dir():
            raise MemoryToolError(f"memory: {path} is a directory", "invalid_input")
        self._write(target, file_text)
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
        self._write(target, text.replace(old_str, new_str, 1))
        return f"The memory file {self.shown(target)} has been edited"

    def insert(self, path: str, insert_line: int, insert_text: str) -> str:
        target = self.resolve(path)
        rows = self._read(target, path).split("\n")
        if not isinstance(insert_line, int) or not 0 <= insert_line <= len(rows):
            raise MemoryToolError(f"memory: insert_line must be between 0 and {len(rows)}", "invalid_input")
        rows[insert_line:insert_line] = insert_text.removesuffix("\n").split("\n")
        self._write(target, "\n".join(rows))
        return f"Text inserted at line {insert_line} of {self.shown(target)}"

    def delete(self, path: str) -> str:
        target = self.resolve(path)
        if target == real_root(self.root):
            raise MemoryToolError(f"memory: cannot delete {PREFIX} itself", "invalid_input")
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        else:
            raise MemoryToolError(f"memory: {path} does not exist", "not_found")
        return f"Deleted {path}"

    def rename(self, old_path: str, new_path: str) -> str:
        source, dest = self.resolve(old_path), self.resolve(new_path)
        if not source.exists():
            raise MemoryToolError(f"memory: {old_path} does not exist", "not_found")
        if dest.exists():
            raise MemoryToolError(f"memory: {new_path} already exists", "invalid_input")
        if source == real_root(self.root):
            raise MemoryToolError(f"memory: cannot rename {PREFIX} itself", "invalid_input")
        dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.rename(source, dest)
        return f"Renamed {old_path} to {new_path}"
