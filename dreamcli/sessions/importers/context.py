"""What a format's converter gets while it turns one transcript into sessions: writers into a staging
directory (sessions already in the workspace get a NullWriter), line counters and progress."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.redaction import Redactor
from dreamcli.sessions.importers.builder import NullWriter, SessionBuilder
from dreamcli.sessions.importers.common import Transcript, final_path
from dreamcli.sessions.importers.lines import LineCounts, LineStream
from dreamcli.sessions.totals import Totals
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.fsutil import ensure_dir, write_all
from dreamcli.workspace.home import Workspace


@dataclass
class UnitResult:
    """The outcome of converting one transcript file (picklable: it comes back from a worker)."""

    path: str
    bytes: int = 0
    staged: list[tuple[str, str]] = field(default_factory=list)  # (session id, staged file)
    children: list[str] = field(default_factory=list)  # session ids of child sessions written
    existing: list[str] = field(default_factory=list)  # session ids already in the workspace
    counts: LineCounts = field(default_factory=LineCounts)
    totals: Totals = field(default_factory=Totals)
    events: int = 0
    changed: bool = False  # already imported, but the transcript changed since (and is not re-imported)
    replaces: int | None = None  # re-imported: its sessions replace those converted from a file of this size
    tool_unanswered: int = 0  # tool calls left without a result (recorded as unanswered)
    statuses: Counter[str] = field(default_factory=Counter)  # session.end status of each session written
    planned: list[str] = field(default_factory=list)  # dry run: session ids that would be written
    replacing: list[str] = field(default_factory=list)  # dry run: stored session ids that would be replaced
    kind: str = "transcript"  # or "empty" (no line at all), "without_messages" (lines, nothing to import)
    transcript: Transcript | None = None  # what the file's first lines said (None: nothing to import)


class StagedWriter(SessionWriter):
    """A SessionWriter into the staging folder that writes its lines in blocks (a staged file is whole
    or discarded, so nothing is gained by one write per line), and at its close."""

    BLOCK = 256 << 10

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pending = bytearray()
        super().__init__(*args, **kwargs)

    def _emit(self, fd: int, line: bytes) -> None:
        self._pending += line
        if len(self._pending) >= self.BLOCK:
            self._flush(fd)

    def _flush(self, fd: int) -> None:
        if self._pending:
            write_all(fd, bytes(self._pending))
            self._pending.clear()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                self._flush(self._fd)
        super().close()


class UnitContext:
    def __init__(self, ws: Workspace, staging: Path, redactor: Redactor, source: str,
                 progress: Callable[[int], None] | None = None, *, dry_run: bool = False,
                 stream: LineStream | None = None, replace: bool = False) -> None:
        """`dry_run`: read and convert everything, write nothing (`sessions import --dry-run`). `stream`:
        the file already opened (its first lines read for the plan), so it is read once. `replace`: stage
        the sessions already in the workspace too (a grown transcript re-imported, dreamcli.sessions.
        importers.grown)."""
        self.dry_run = dry_run
        self.replace = replace
        self.stream = stream
        self.new: set[str] = set()  # session ids this context writes (or would write, in a dry run)
        self.ws = ws
        self.staging = staging
        self.redactor = redactor
        self.source = source
        self.progress = progress
        self.writers: list[SessionWriter] = []
        self.builders: list[SessionBuilder] = []

    def open_session(self, t: Transcript, result: UnitResult, *, session_id: str | None = None,
                     start_ts: str | None = None, source_id: str | None = None,
                     parent_session_id: str | None = None, child: bool = False,
                     prompt: str | None = None, tags: list[str] | None = None,
                     agent: str | None = None, extra_import: dict[str, Any] | None = None) -> SessionBuilder:
        """Start one session (the transcript's own, or an inline child) and write its session.start."""
        sid = session_id or t.session_id
        start = start_ts or t.start_ts
        writer: Any
        stored = final_path(self.ws, sid).exists()
        if (stored and not self.replace) or sid in self.new:  # imported, or a copy
            writer = NullWriter(sid)
            result.existing.append(sid)
        elif self.dry_run and not stored:  # (a stored one to replace is staged: it is compared with the new one)
            writer = NullWriter(sid)
            result.planned.append(sid)
            self.new.add(sid)
            if child or t.parent_source_id:
                result.children.append(sid)
        else:
            self.new.add(sid)
            ensure_dir(self.staging)
            # a name of its own: another unit (here or in another worker) may stage a copy of the same
            # transcript (a backup of a project folder has the same ids); the first in plan order wins
            staged = self.staging / f"{sid}.{os.getpid()}.{next(_STAGED)}.jsonl"
            # Not synced here: the runner syncs a whole batch of staged sessions before moving them in.
            writer = StagedWriter(self.ws, session_id=sid, redactor=self.redactor, path=staged, fsync=False)
            self.writers.append(writer)
            result.staged.append((sid, str(staged)))
            if child or t.parent_source_id:
                result.children.append(sid)
            info = t.import_info()
            if source_id:
                info["source_id"] = source_id
            if extra_import:
                info.update(extra_import)
            name = task_name_for(t.workdir)
            writer.start(
                task={"name": name or None, "prompt": prompt if prompt is not None else t.prompt},
                model=t.model, workdir=t.workdir, source=self.source,
                agent=agent if agent is not None else t.agent,
                parent_session_id=parent_session_id if child else t.parent_session_id,
                tags=tags if tags is not None else list(t.tags), ts=start, **{"import": info},
            )
        builder = SessionBuilder(writer, start)
        self.builders.append(builder)
        return builder

    def lines(self, t: Transcript, counts: LineCounts) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, object) of every JSON-object line of the transcript, each read once."""
        stream = self.stream if self.stream is not None and self.stream.path == t.path else \
            LineStream(t.path, self.progress)
        return stream.lines(counts)

    def finish(self, result: UnitResult) -> None:
        for w in self.writers:  # every staged session whole on disk (a converter ends them; this is the safety)
            w.close()
        for b in self.builders:
            if b.session_id not in self.new:
                continue
            result.events += b.events
            result.tool_unanswered += b.tool_unanswered
            result.statuses[b.ended_status or "incomplete"] += 1
            t = b.totals
            for name in ("turns", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                         "tool_calls", "tool_errors"):
                setattr(result.totals, name, getattr(result.totals, name) + getattr(t, name))

    def abort(self, result: UnitResult) -> None:
        """Close and delete everything this transcript staged."""
        for w in self.writers:
            with contextlib.suppress(OSError):
                w.close()
        for _sid, staged in result.staged:
            with contextlib.suppress(OSError):
                os.unlink(staged)
        result.staged.clear()


_STAGED = itertools.count()  # staged file names, unique in this process
_SCRATCH = re.compile(r"^(tmp|temp)([._-]?[A-Za-z0-9_]{0,16})?$", re.IGNORECASE)


def task_name_for(workdir: str | None) -> str | None:
    """The project folder's name as the task of an imported session; None when the folder says nothing
    about the task: a scratch or temp directory (`/tmp`, `tmpab12cd`), the home directory or `/`."""
    if not workdir:
        return None
    path = workdir.rstrip("/")
    name = os.path.basename(path)
    if not name or _SCRATCH.match(name):
        return None
    home = os.path.expanduser("~").rstrip("/")
    temp = tempfile.gettempdir().rstrip("/")
    if path in (home, temp):
        return None
    return name
