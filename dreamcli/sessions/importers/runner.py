"""Importing a directory of transcripts: find and check every file first (`plan`: the first line of each
file; a file that is not a transcript of the format is skipped and reported, a directory without any,
or a named file that is not one, is refused before anything is written), then convert each unit (a
transcript and its sub-agent files, docs/importers.md) in one read of each file into a staging directory, and move the
finished sessions into place in batches (children before the parent), so an interrupted import leaves
only whole sessions and a re-run picks up where it stopped. `workers` processes convert units in
parallel; results are taken in plan order, so the output, the batches and their audit records are the
same with any number of workers. An import stopped early (Ctrl-C, SIGTERM, a failed chunk) cancels what
is queued and ends its workers at once (dreamcli.orphans), before it removes its staging folder."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dreamcli.sessions.importers.journal as journal
from dreamcli.redaction import Redactor, for_patterns
from dreamcli.sessions.importers.common import final_path
from dreamcli.sessions.importers.context import UnitResult
from dreamcli.sessions.importers.grown import imported_bytes
from dreamcli.sessions.importers.lines import LineCounts
from dreamcli.sessions.importers.plan import FORMATS, ImportPlan, format_module, plan_import
from dreamcli.sessions.importers.units import Converter, Node
from dreamcli.sessions.totals import Totals
from dreamcli.workspace.fsutil import into_dir, sync_fd
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

PARALLEL_MIN_BYTES = 8 << 20  # by default, below this one process (starting workers costs more than it saves)
CHUNK_BYTES = 4 << 20  # units go to a worker in chunks of about this size...
CHUNK_UNITS = 64  # ...or of this many units
COMMIT_EVERY_BYTES = 128 << 20  # staged sessions are synced and moved in batches of this size...
COMMIT_EVERY_FILES = 500  # ...or of this many transcripts
FSYNC_THREADS = 8  # concurrent fsyncs of a batch's files (the journal commits them together)
OnCommit = Callable[[list[str], list[str]], None]  # told of the ids each batch moved in and replaced (uploads, index)


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
    changed_since_import: int = 0  # of those, transcripts that changed since they were imported (kept as they were)
    updated: int = 0  # sessions replaced: their transcript grew since it was imported (docs/importers.md)
    bytes: int = 0
    seconds: float = 0.0
    events: int = 0
    tool_unanswered: int = 0  # tool calls recorded as unanswered (no result in the transcript)
    statuses: dict[str, int] = field(default_factory=dict)  # session.end status -> sessions written
    lines: LineCounts = field(default_factory=LineCounts)
    totals: Totals = field(default_factory=Totals)
    session_ids: list[str] = field(default_factory=list)
    updated_session_ids: list[str] = field(default_factory=list)
    skipped_files: list[dict[str, Any]] = field(default_factory=list)  # not transcripts: {file, line, reason}

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


def import_transcripts(
    ws: Workspace, source: str, path: Path | None = None, *,
    redaction_patterns: tuple[str, ...] | list[str] = (),
    progress: Callable[[ImportProgress], None] | None = None,
    workers: int | None = None,
    actor: str | None = None,
    on_commit: OnCommit | None = None,
) -> ImportSummary:
    """Import every transcript of `source` format under `path` (default: the tool's own directory).
    `workers`: processes converting in parallel (default: one per core, for imports of some size).
    `on_commit(session_ids, replaced)` is told of each batch's sessions moved in and of those it replaced
    (grown transcripts re-imported, docs/importers.md), before its intent is closed (a kill in between tells
    it again at the next recovery), to upload or index them (docs/scaling.md)."""
    fmt = format_module(source)
    root = Path(path).expanduser() if path is not None else fmt.default_path()
    started = time.perf_counter()
    plan = plan_import(source, root)
    summary = ImportSummary(source=source, path=str(root), files=len(plan.files), empty=len(plan.empty),
                            skipped_files=_redactor(tuple(redaction_patterns)).redact_obj(
                                [s.to_json() for s in plan.skipped]))  # redacted as each session's import.path is
    prog = ImportProgress(files_total=sum(u.files() for u in plan.units), bytes_total=plan.bytes)
    ws.ensure()
    about = {"actor": actor, "source": source, "path": str(root)}
    with workspace_lock(ws, "sessions-import"):
        staging = journal.staging_dir(ws)
        journal.recover(ws, keep=staging, on_commit=on_commit)  # batches of an import that was killed
        batch: list[UnitResult] = []
        batch_bytes = 0
        syncer = _Syncer()
        conversions = _convert_all(ws, staging, source, plan, tuple(redaction_patterns), prog, progress, workers)
        try:
            for results in conversions:
                syncer.start(results)
                batch.extend(results)
                batch_bytes += sum(r.bytes for r in results)
                if batch_bytes >= COMMIT_EVERY_BYTES or len(batch) >= COMMIT_EVERY_FILES:
                    _commit_audited(ws, batch, summary, about, on_commit, syncer.wait)
                    batch, batch_bytes = [], 0
                prog.files_done += len(results)
                if progress is not None:
                    progress(prog)
            _commit_audited(ws, batch, summary, about, on_commit, syncer.wait)
        finally:
            conversions.close()  # stopped here (Ctrl-C in a commit): its workers end before their staging goes
            syncer.close()
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                (ws.state_dir / "import-staging").rmdir()
    summary.seconds = time.perf_counter() - started
    return summary


def _commit_audited(ws: Workspace, batch: list[UnitResult], summary: ImportSummary,
                    about: dict[str, Any], on_commit: OnCommit | None = None,
                    sync: Callable[[list[str]], None] | None = None) -> None:
    """Commit one batch and append one audit record for the sessions it moved in or replaced, also when
    the commit is interrupted part-way (what is in the workspace is always in the audit trail). With
    `on_commit`, its intent is closed only after `on_commit` was told of the sessions moved in and
    replaced; an interrupted batch leaves its intent for the next recovery to tell."""
    before = (summary.sessions, summary.children, summary.already_imported, summary.bytes)
    ids: list[str] = []
    updated: list[str] = []
    interrupted = True
    planned = list(dict.fromkeys(sid for r in batch for sid, _staged in r.staged if not final_path(ws, sid).exists()))
    replacing = {sid: r.bytes for r in batch if r.replaces is not None for sid, _staged in r.staged
                 if final_path(ws, sid).exists()}
    intent = journal.begin(ws, planned, about, replacing=replacing) if planned or replacing else None
    try:
        _commit_batch(ws, batch, summary, (ids, updated), sync)
        interrupted = False
    finally:
        if ids or updated:
            flags: dict[str, Any] = {"interrupted": True} if interrupted else {}
            journal.audit_batch(ws, ids, about, intent, updated=updated, children=summary.children - before[1],
                                already_imported=summary.already_imported - before[2],
                                bytes=summary.bytes - before[3], **flags)
        if intent is not None and (on_commit is None or not interrupted):
            if on_commit is not None and (ids or updated):
                on_commit(ids, updated)
            journal.done(intent)


# ---------------------------------------------------------------- converting


_REDACTORS: dict[tuple[str, ...], Redactor] = {}


def _redactor(patterns: tuple[str, ...]) -> Redactor:
    """One redactor per set of patterns in a process (a worker converts many chunks)."""
    r = _REDACTORS.get(patterns)
    if r is None:
        r = _REDACTORS[patterns] = for_patterns(patterns)
    return r


def _worker(args: tuple[str, str, tuple[str, ...], str, list[Node]]) -> list[list[UnitResult]]:
    root, staging, patterns, source, units = args
    conv = Converter(Workspace(root=Path(root), source="option"), Path(staging), _redactor(patterns), source,
                     FORMATS[source])
    return [conv.unit(u) for u in units]


def _chunks(units: list[Node]) -> list[list[Node]]:
    """Consecutive units grouped into chunks of about CHUNK_BYTES (one worker task each)."""
    out: list[list[Node]] = []
    size = 0
    for u in units:
        if not out or size >= CHUNK_BYTES or len(out[-1]) >= CHUNK_UNITS:
            out.append([])
            size = 0
        out[-1].append(u)
        size += u.bytes()
    return out


def worker_count(workers: int | None, plan_bytes: int, units: int) -> int:
    """Processes to convert with: `workers` when given, else one per core for an import of some size."""
    if units < 2:
        return 1
    if workers is not None:
        return max(1, workers)
    return (os.cpu_count() or 1) if plan_bytes >= PARALLEL_MIN_BYTES else 1


def _convert_all(ws: Workspace, staging: Path, source: str, plan: ImportPlan, patterns: tuple[str, ...],
                 prog: ImportProgress, progress: Callable[[ImportProgress], None] | None,
                 workers: int | None) -> Generator[list[UnitResult], None, None]:
    """Each unit's results, in plan order (whichever worker converted it)."""
    n = worker_count(workers, prog.bytes_total, len(plan.units))
    if n <= 1:
        def tick(nbytes: int) -> None:
            prog.bytes_done += nbytes
            if progress is not None:
                progress(prog)

        conv = Converter(ws, staging, _redactor(patterns), source, FORMATS[source], tick)
        for u in plan.units:
            prog.current = str(u.path)
            yield conv.unit(u)
        return
    import multiprocessing
    import threading

    from dreamcli.orphans import Started, pool_options, run_stoppable, signals_held, started_since, stop_pool

    # fork: workers start in milliseconds and need nothing from __main__ (spawn re-imports it); each
    # worker exits when this process dies (a kill -9 leaves none waiting on the queue forever)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    chunks = iter(_chunks(plan.units))
    before = (multiprocessing.active_children(), threading.enumerate())
    pool = ProcessPoolExecutor(max_workers=n, mp_context=context, **pool_options(context, stoppable=True))
    running: deque[tuple[Future[list[list[UnitResult]]], list[Node]]] = deque()
    started: Started | None = None

    def submit() -> None:
        chunk = next(chunks, None)
        if chunk is not None:
            args = (str(ws.root), str(staging), patterns, source, chunk)
            running.append((pool.submit(run_stoppable, _worker, args), chunk))

    try:
        with signals_held():  # the workers are forked here: each takes a signal once it can stop
            for _ in range(n * 3):  # a bounded number in flight, enough to keep every worker busy
                submit()
        started = started_since(*before)  # the pool starts its processes and its thread in submit
        while running:
            fut, chunk = running.popleft()
            done = fut.result()
            submit()
            for unit, results in zip(chunk, done, strict=True):
                prog.bytes_done += unit.bytes()
                prog.current = str(unit.path)
                yield results
    except BaseException:  # Ctrl-C, SIGTERM, a failed chunk, the import stopped: none queued runs, none waits
        stop_pool(pool, *(started or started_since(*before)))
        raise
    pool.shutdown()


def _commit_batch(ws: Workspace, batch: list[UnitResult], summary: ImportSummary,
                  moved: tuple[list[str], list[str]] | None = None,
                  sync: Callable[[list[str]], None] | None = None) -> None:
    """Sync each staged file of a batch, move them in, then sync the directories they went into.
    A crash before a move leaves that session out (a re-run imports it); a moved file is whole.
    Only this batch's files are synced (os.sync() would flush every filesystem of the machine and
    wait for whatever else is unwritten); the fsyncs run in threads so the filesystem can commit
    them together (see docs/portability.md). `moved`: the lists the ids moved in and replaced are added
    to. `sync`: what makes the staged files durable (default: sync them now; an import passes its
    `_Syncer`, which started them as each unit came in)."""
    (sync or _fsync_all)([staged for r in batch for _sid, staged in r.staged])
    dirs: set[Path] = set()
    try:
        for result in batch:
            _commit(ws, result, summary, moved if moved is not None else ([], []), dirs)
    finally:
        _fsync_all(sorted(dirs))


class _Syncer:
    """The fsyncs of staged files, started as soon as their unit is converted, in threads (an fsync
    waits on the disk with the GIL released), so the disk writes while the next units convert and
    a batch's commit finds its files synced. Waiting on a file raises its fsync's error, as a sync at
    the commit would."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._started: dict[str, Future[None]] = {}

    def start(self, results: list[UnitResult]) -> None:
        for result in results:
            for _sid, staged in result.staged:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=FSYNC_THREADS)
                self._started[staged] = self._pool.submit(_fsync, staged)

    def wait(self, paths: list[str]) -> None:
        """Every path synced: each one started waited for, any other synced now."""
        rest: list[str] = []
        for path in paths:
            started = self._started.pop(path, None)
            if started is None:
                rest.append(path)
            else:
                started.result()
        _fsync_all(rest)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._started.clear()


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
        sync_fd(fd, path)
    finally:
        os.close(fd)


def _commit(ws: Workspace, result: UnitResult, summary: ImportSummary, moved: tuple[list[str], list[str]],
            dirs: set[Path]) -> None:
    """Move the staged sessions of one transcript into the workspace, children first. A re-imported one
    replaces each stored session converted from the size it was converted from (not one replaced since)."""
    ids, updated = moved
    if result.kind != "transcript":  # its lines are counted (ignored or unknown), nothing is written
        summary.empty += result.kind == "empty"
        summary.without_messages += result.kind == "without_messages"
        summary.lines.add(result.counts)
        return
    summary.transcripts += 1
    main = result.staged[:1]
    for sid, staged in [*result.staged[1:], *main]:
        final = final_path(ws, sid)
        if final.exists() and (result.replaces is None or imported_bytes(final) != result.replaces):
            os.unlink(staged)  # an earlier unit's copy of the same transcript, or a concurrent import's
            summary.already_imported += 1
            continue
        if final.exists():
            os.replace(staged, final)  # whole, as a first import moves it in (docs/importers.md)
            dirs.add(final.parent)
            updated.append(sid)
            summary.updated += 1
            if len(summary.updated_session_ids) < 1000:
                summary.updated_session_ids.append(sid)
            continue
        into_dir(final, functools.partial(os.replace, staged, final))  # made again if a refused run removed it
        if final.parent not in dirs:  # the entries of new directories too
            dirs.update(d for d in final.parents if d.is_relative_to(ws.sessions_dir))
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
