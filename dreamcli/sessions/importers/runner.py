"""Importing a directory of transcripts: find and check every file first (bad input is refused before
anything is written), then convert each transcript into a staging directory and move its finished
sessions into place (children before the parent), so an interrupted import leaves only whole sessions
and a re-run picks up where it stopped. Big imports use worker processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import dreamcli.sessions.importers.claude_code as claude_code
import dreamcli.sessions.importers.codex as codex
import dreamcli.sessions.importers.journal as journal
from dreamcli.errors import InputError, UsageError
from dreamcli.redaction import Redactor, for_patterns
from dreamcli.sessions.importers.common import LineCounts, Transcript, check_jsonl
from dreamcli.sessions.importers.context import UnitContext, UnitResult
from dreamcli.sessions.paths import session_path
from dreamcli.sessions.reader import read_first_event
from dreamcli.sessions.totals import Totals
from dreamcli.workspace.fsutil import ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

FORMATS: dict[str, ModuleType] = {"claude-code": claude_code, "codex": codex}
PARALLEL_MIN_BYTES = 32 << 20  # below this, worker start-up costs more than it saves
COMMIT_EVERY_BYTES = 128 << 20  # staged sessions are synced and moved in batches of this size...
COMMIT_EVERY_FILES = 500  # ...or of this many transcripts
FSYNC_THREADS = 8  # concurrent fsyncs of a batch's files (the journal commits them together)


@dataclass
class ImportProgress:
    files_total: int
    bytes_total: int
    files_done: int = 0
    bytes_done: int = 0
    current: str | None = None


@dataclass
class ImportSummary:
    source: str
    path: str
    files: int = 0  # JSONL files found
    transcripts: int = 0  # files with something to import
    empty: int = 0  # files with no lines at all
    without_messages: int = 0  # files whose lines hold no message (counted in `lines`, nothing written)
    sessions: int = 0  # sessions written (parents and children)
    children: int = 0  # of which sub-agent sessions
    already_imported: int = 0  # transcripts skipped because their session is in the workspace already
    changed_since_import: int = 0  # of those, transcripts that grew since they were imported
    bytes: int = 0
    seconds: float = 0.0
    events: int = 0
    tool_unanswered: int = 0  # tool calls recorded as unanswered (no result in the transcript)
    statuses: dict[str, int] = field(default_factory=dict)  # session.end status -> sessions written
    lines: LineCounts = field(default_factory=LineCounts)
    totals: Totals = field(default_factory=Totals)
    session_ids: list[str] = field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["lines"]["ignored"] = dict(self.lines.ignored)
        data["lines"]["unknown"] = dict(self.lines.unknown)
        for name in ("cost_usd", "duration_ms"):  # not known for imported transcripts
            data["totals"].pop(name)
        data["lines"]["skipped"] = self.lines.corrupt + self.lines.truncated + self.lines.malformed + sum(
            self.lines.unknown.values())
        data["mb_per_s"] = round(self.mb_per_s, 2)
        data["seconds"] = round(self.seconds, 3)
        return data


def count_files_without_messages(fmt: ModuleType, files: list[Path], transcripts: list[Transcript],
                                 summary: ImportSummary) -> None:
    """Files with no transcript to import: empty ones are `empty`; the lines of the others are read
    and counted (ignored or unknown, by type), so a file of lines this importer cannot use is seen."""
    planned = {t.path for t in transcripts}
    for f in files:
        if f in planned:
            continue
        counts = LineCounts()
        count_lines = getattr(fmt, "count_lines", None)  # optional for a format (docs/architecture.md)
        try:
            if count_lines is not None:
                count_lines(f, counts)
        except (OSError, UnicodeDecodeError):
            counts.corrupt += 1
        if counts.lines == 0:
            summary.empty += 1
        else:
            summary.without_messages += 1
            summary.lines.add(counts)


def format_module(source: str) -> ModuleType:
    try:
        return FORMATS[source]
    except KeyError:
        raise UsageError(f"unknown transcript format {source!r} (use: {', '.join(FORMATS)})") from None


def plan_import(source: str, path: Path) -> tuple[list[Path], list[Transcript]]:
    """Find and check every transcript under `path`; raises InputError (exit 2) naming the first file
    that is not a transcript of this format. Reads only the first lines of each file."""
    fmt = format_module(source)
    if not path.exists():
        raise InputError("transcript directory does not exist", file=str(path))
    if not (path.is_dir() or path.is_file()):
        raise InputError("not a file or directory", file=str(path))
    files = fmt.discover(path)
    readable = [f for f in files if f.stat().st_size > 0 and check_jsonl(f)]
    return files, fmt.plan(readable)


def import_transcripts(
    ws: Workspace, source: str, path: Path | None = None, *,
    redaction_patterns: tuple[str, ...] | list[str] = (),
    progress: Callable[[ImportProgress], None] | None = None,
    workers: int | None = None,
    actor: str | None = None,
) -> ImportSummary:
    """Import every transcript of `source` format under `path` (default: the tool's own directory)."""
    fmt = format_module(source)
    root = Path(path).expanduser() if path is not None else fmt.default_path()
    started = time.perf_counter()
    files, transcripts = plan_import(source, root)
    summary = ImportSummary(source=source, path=str(root), files=len(files), transcripts=len(transcripts))
    count_files_without_messages(fmt, files, transcripts, summary)
    prog = ImportProgress(files_total=len(transcripts), bytes_total=sum(t.size for t in transcripts))
    ws.ensure()
    about = {"actor": actor, "source": source, "path": str(root)}
    with workspace_lock(ws, "sessions-import"):
        staging = journal.staging_dir(ws)
        journal.recover(ws, keep=staging)  # batches of an import that was killed: audit, sweep
        batch: list[UnitResult] = []
        batch_bytes = 0
        try:
            for result in _convert_all(ws, staging, source, transcripts, tuple(redaction_patterns), prog,
                                       progress, workers):
                batch.append(result)
                batch_bytes += result.bytes
                if batch_bytes >= COMMIT_EVERY_BYTES or len(batch) >= COMMIT_EVERY_FILES:
                    _commit_audited(ws, batch, summary, about)
                    batch, batch_bytes = [], 0
                prog.files_done += 1
                if progress is not None:
                    progress(prog)
            _commit_audited(ws, batch, summary, about)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                (ws.state_dir / "import-staging").rmdir()
    summary.seconds = time.perf_counter() - started
    return summary


def _commit_audited(ws: Workspace, batch: list[UnitResult], summary: ImportSummary,
                    about: dict[str, Any]) -> None:
    """Commit one batch and append one audit record for the sessions it moved in, also when the
    commit is interrupted part-way (what is in the workspace is always in the audit trail)."""
    before = (summary.sessions, summary.children, summary.already_imported, summary.bytes)
    ids: list[str] = []
    interrupted = True
    planned = [sid for r in batch for sid, _staged in r.staged if not session_path(ws, sid).exists()]
    intent = journal.begin(ws, planned, about) if planned else None
    try:
        _commit_batch(ws, batch, summary, ids)
        interrupted = False
    finally:
        if ids:
            flags: dict[str, Any] = {"interrupted": True} if interrupted else {}
            journal.audit_batch(ws, ids, about, intent, children=summary.children - before[1],
                                already_imported=summary.already_imported - before[2],
                                bytes=summary.bytes - before[3], **flags)
        if intent is not None:
            journal.done(intent)


# ---------------------------------------------------------------- converting


def convert_transcript(ws: Workspace, staging: Path, redactor: Redactor, source: str, t: Transcript,
                       progress: Callable[[int], None] | None = None) -> UnitResult:
    """Convert one transcript file into staged session files (nothing staged survives a failure)."""
    result = UnitResult(path=str(t.path), bytes=t.size)
    if session_path(ws, t.session_id).exists():
        # Imported before, with its inline children (they are moved in before the parent).
        result.existing.append(t.session_id)
        result.changed = _changed_since_import(ws, t)
        if progress is not None:
            progress(t.size)
        return result
    ctx = UnitContext(ws, staging, redactor, source, progress)
    try:
        FORMATS[source].convert(t, ctx, result)
        ctx.finish(result)
    except OSError as err:
        ctx.abort(result)
        raise InputError(f"cannot read: {err.strerror or err}", file=str(t.path)) from None
    except RecursionError:  # a line nested too deep to redact and write: refused, never an internal error
        ctx.abort(result)
        raise InputError("a line is nested too deeply to import", file=str(t.path)) from None
    except BaseException:
        ctx.abort(result)
        raise
    return result


def _changed_since_import(ws: Workspace, t: Transcript) -> bool:
    try:
        first = read_first_event(session_path(ws, t.session_id))
    except OSError:
        return False
    info = (first or {}).get("import")
    return isinstance(info, dict) and isinstance(info.get("bytes"), int) and info["bytes"] != t.size


def _worker(args: tuple[str, str, tuple[str, ...], str, Transcript]) -> UnitResult:
    root, staging, patterns, source, t = args
    ws = Workspace(root=Path(root), source="option")
    return convert_transcript(ws, Path(staging), for_patterns(patterns), source, t)


def _convert_all(ws: Workspace, staging: Path, source: str, transcripts: list[Transcript],
                 patterns: tuple[str, ...], prog: ImportProgress,
                 progress: Callable[[ImportProgress], None] | None, workers: int | None) -> Iterator[UnitResult]:
    n = workers if workers is not None else min(os.cpu_count() or 1, 4)
    if n <= 1 or len(transcripts) < 2 or prog.bytes_total < PARALLEL_MIN_BYTES:
        redactor = for_patterns(patterns)

        def tick(nbytes: int) -> None:
            prog.bytes_done += nbytes
            if progress is not None:
                progress(prog)

        for t in transcripts:
            prog.current = str(t.path)
            yield convert_transcript(ws, staging, redactor, source, t, tick)
        return
    # Largest first, so one big file does not finish last alone; a bounded number in flight.
    order = sorted(transcripts, key=lambda t: -t.size)
    import multiprocessing

    # fork: workers start in milliseconds and need nothing from __main__ (spawn re-imports it)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context(method)) as pool:
        queue = iter(order)
        running: dict[Future[UnitResult], Transcript] = {}
        try:
            for t in queue:
                running[pool.submit(_worker, (str(ws.root), str(staging), patterns, source, t))] = t
                if len(running) >= n * 2:
                    break
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    t = running.pop(fut)
                    result = fut.result()
                    prog.bytes_done += t.size
                    prog.current = str(t.path)
                    yield result
                    nxt = next(queue, None)
                    if nxt is not None:
                        running[pool.submit(_worker, (str(ws.root), str(staging), patterns, source, nxt))] = nxt
        except BaseException:
            for fut in running:
                fut.cancel()
            raise


def _commit_batch(ws: Workspace, batch: list[UnitResult], summary: ImportSummary,
                  ids: list[str] | None = None) -> None:
    """Sync each staged file of a batch, move them in, then sync the directories they went into.
    A crash before a move leaves that session out (a re-run imports it); a moved file is whole.
    Only this batch's files are synced (os.sync() would flush every filesystem of the machine and
    wait for whatever else is unwritten); the fsyncs run in threads so the filesystem can commit
    them together (see docs/portability.md)."""
    _fsync_all([staged for r in batch for _sid, staged in r.staged])
    dirs: set[Path] = set()
    try:
        for result in batch:
            _commit(ws, result, summary, ids if ids is not None else [], dirs)
    finally:
        _fsync_all(sorted(dirs))


def _fsync_all(paths: list[str] | list[Path]) -> None:
    if len(paths) < 2:
        for path in paths:
            _fsync(path)
        return
    with ThreadPoolExecutor(max_workers=FSYNC_THREADS) as pool:
        list(pool.map(_fsync, paths))


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(ws: Workspace, result: UnitResult, summary: ImportSummary, ids: list[str],
            dirs: set[Path]) -> None:
    """Move the staged sessions of one transcript into the workspace, children first."""
    main = result.staged[:1]
    for sid, staged in [*result.staged[1:], *main]:
        final = session_path(ws, sid)
        if final.exists():  # written meanwhile by a concurrent import of the same transcript
            os.unlink(staged)
            continue
        ensure_dir(final.parent)
        os.replace(staged, final)
        dirs.update(d for d in final.parents if d.is_relative_to(ws.sessions_dir))  # new dirs' entries too
        ids.append(sid)
        summary.sessions += 1
        if sid in result.children:
            summary.children += 1
        if len(summary.session_ids) < 1000:
            summary.session_ids.append(sid)
    summary.already_imported += len(result.existing)
    summary.changed_since_import += int(result.changed)
    summary.bytes += result.bytes
    summary.events += result.events
    summary.tool_unanswered += result.tool_unanswered
    for status, n in result.statuses.items():
        summary.statuses[status] = summary.statuses.get(status, 0) + n
    summary.lines.add(result.counts)
    for name in ("turns", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                 "tool_calls", "tool_errors"):
        setattr(summary.totals, name, getattr(summary.totals, name) + getattr(result.totals, name))
