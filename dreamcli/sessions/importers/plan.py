"""The plan of an import: every file found under the path, checked by its first line, linked into units
(a transcript with its sub-agent files). A file that is not a transcript of the format is skipped and
reported; a directory with no transcript of the format at all, or a named file that is not one, is
refused before anything is written (docs/importers.md, "Files that are not transcripts")."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import dreamcli.sessions.importers.claude_code as claude_code
import dreamcli.sessions.importers.codex as codex
from dreamcli.errors import InputError, UsageError
from dreamcli.sessions.importers.common import first_object
from dreamcli.sessions.importers.units import Node
from dreamcli.textnorm import LONE_SURROGATE, escaped
from dreamcli.workspace.userpath import user_path

FORMATS: dict[str, ModuleType] = {"claude-code": claude_code, "codex": codex}
NOT_UTF8 = "file name is not UTF-8 (dreamcli records the path as UTF-8 text); rename it to import it"


@dataclass
class Skipped:
    """A file found that is not a transcript of the format (not JSONL, unreadable, another format)."""

    file: Path
    reason: str
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"file": escaped(str(self.file)), "line": self.line, "reason": self.reason}


@dataclass
class ImportPlan:
    """The files found and the units to convert (each file in exactly one unit, empty, or skipped)."""

    files: list[Path]
    units: list[Node]
    empty: list[Path]  # files of zero bytes
    skipped: list[Skipped] = field(default_factory=list)  # files that are not transcripts of the format

    @property
    def bytes(self) -> int:
        return sum(u.bytes() for u in self.units)


def format_module(source: str) -> ModuleType:
    try:
        return FORMATS[source]
    except KeyError:
        raise UsageError(f"unknown transcript format {source!r} (use: {', '.join(FORMATS)})") from None


def plan_import(source: str, path: Path) -> ImportPlan:
    """Find and check every transcript under `path`. A file that is not a transcript of this format (not
    JSONL, unreadable, another format) is skipped and listed in `skipped`; InputError (exit 2), naming
    the first such file, when `path` is that file or when no file under `path` is a transcript of the
    format (the wrong directory, or the wrong format asked for). Reads the first line of each file (its
    format and what links a sub-agent's file to its lead's); the rest is read once, when the unit is
    converted."""
    fmt = format_module(source)
    user_path(path, "PATH", recorded=True)  # an import's audit record holds it
    if not path.exists():
        raise InputError("transcript directory does not exist", file=str(path))
    if not (path.is_dir() or path.is_file()):
        raise InputError("not a file or directory", file=str(path))
    files = fmt.discover(path)
    sized: list[tuple[Path, int]] = []
    keys: dict[Path, Any] = {}
    empty: list[Path] = []
    skipped: list[tuple[Skipped, InputError]] = []
    recognised = 0  # files whose first line is a line of the format
    link_key = getattr(fmt, "link_key", None)
    for f in files:
        try:
            size = f.stat().st_size
            if size == 0:
                empty.append(f)
                continue
            first = first_object(f)
            if first is not None:
                fmt.check(f, first)
                recognised += 1
        except InputError as bad:
            skipped.append((Skipped(f, _reason(bad), bad.line), bad))
            continue
        except OSError as gone:  # gone or unreadable since it was found
            unread = InputError(f"cannot read: {gone.strerror or gone}", file=str(f))
            skipped.append((Skipped(f, _reason(unread)), unread))
            continue
        # a transcript whose session would record the path, as UTF-8 text; empty, blank-only, cut-off (no first
        # line: no session) and foreign files were told apart above, as under any other name
        if first is not None and LONE_SURROGATE.search(str(f)):
            recognised -= 1
            skipped.append((Skipped(f, NOT_UTF8), InputError(NOT_UTF8, file=escaped(str(f)))))
            continue
        if first is not None and link_key is not None:
            keys[f] = link_key(f, first)
        sized.append((f, size))
    if skipped and (path.is_file() or not recognised):
        first_skip, err = skipped[0]
        if len(files) > 1:
            raise InputError(f"{first_skip.reason}; none of the {len(files)} files found is a {source} "
                             "transcript", file=escaped(str(first_skip.file)), line=first_skip.line)
        raise err
    return ImportPlan(files, fmt.link(sized, keys), empty, [s for s, _err in skipped])


def _reason(err: InputError) -> str:
    """The message of an InputError without the `file:line: ` it starts with."""
    text = str(err)
    where = f"{err.file}:{err.line}: " if err.line is not None else f"{err.file}: "
    return text[len(where):] if err.file and text.startswith(where) else text
