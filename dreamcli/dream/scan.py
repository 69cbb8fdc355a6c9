"""Scanning many session files, on every core when there is enough to read.

Files are split into contiguous chunks (in id order, so a lead and its sub-agents mostly land
together); each worker process scans its chunks into its own `Aggregates`, which the main process
merges, then resolves episodes across chunk boundaries (a sub-agent scanned without its lead). A sub-agent
whose lead is in no earlier dream and not in its chunk is handed back and read by the main process in its
turn, as one worker would have read it: the lead (an earlier chunk's) decides whether it is a trial."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.executors import LocalExecutor, current_executor, map_telling
from dreamcli.dream.session_state import SessionInfo
from dreamcli.dream.signals import Scope, scan_stream
from dreamcli.dream.sources import Source, StoreRef, open_source, source_id, source_size
from dreamcli.dream.transcripts import adoptable, settle
from dreamcli.sessions.reader import ReadStats, os_reason

PARALLEL_MIN_BYTES = 32 * 1024 * 1024  # below this, starting processes costs more than it saves
CHUNK_BYTES = 4 * 1024 * 1024
CHUNKS_PER_WORKER = 12
WARN_UNREADABLE = 20  # files named one by one in the scan's warnings; the rest are counted
Progress = Callable[[str, int, int], None]
Warn = Callable[[str], None]  # one warning, said by the caller (the CLI: a `warning:` line)


@dataclass
class Scanned:
    """What the engine needs about the sessions read, kept small: per-session details only for the
    sessions that matter later (graded in the log, entries in context, deferred, out of scope)."""

    infos: dict[str, SessionInfo] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)  # sessions read in scope, not deferred
    episodes: set[str] = field(default_factory=set)
    deferred: list[str] = field(default_factory=list)
    out_of_scope: int = 0
    trials: int = 0  # pilot trials and --with-proposal runs (and their sub-agents): left out, not out of scope
    latest: str | None = None
    hidden: int = 0  # zero-width and bidi control characters stripped before mining
    unreadable: list[str] = field(default_factory=list)  # "FILE: reason" of each file skipped (ReadStats)
    # imported sub-agents an earlier dream left waiting out of scope (the stored `outside`) that this one read in
    # scope: the grades that dream read of them (and passed over) are joined now (grades.join)
    waited: set[str] = field(default_factory=set)

    def add(self, info: SessionInfo) -> None:
        if info.skipped:
            if info.trial:
                self.trials += 1
            else:
                self.out_of_scope += 1
            self.infos[info.session_id] = info
            return
        if info.deferred:
            self.deferred.append(info.session_id)
            self.infos[info.session_id] = info
            return
        self.ids.add(info.session_id)
        self.episodes.add(info.episode)
        self.hidden += info.hidden
        if info.last_ts and (self.latest is None or info.last_ts > self.latest):
            self.latest = info.last_ts
        if info.evaluations or info.entry_ids or info.episode != info.session_id:
            self.infos[info.session_id] = info

    def merge(self, other: Scanned) -> None:
        self.infos.update(other.infos)
        self.ids.update(sys.intern(s) for s in other.ids)
        self.episodes.update(sys.intern(e) for e in other.episodes)
        self.deferred.extend(other.deferred)
        self.out_of_scope += other.out_of_scope
        self.trials += other.trials
        self.hidden += other.hidden
        if other.latest and (self.latest is None or other.latest > self.latest):
            self.latest = other.latest

    def info(self, session_id: str) -> SessionInfo | None:
        """The session's info, rebuilt for a plain session that was read (its episode is itself)."""
        found = self.infos.get(session_id)
        if found is None and session_id in self.ids:
            return SessionInfo(session_id, session_id, None, [], None)
        return found


def workers_for(total_bytes: int) -> int:
    if total_bytes < PARALLEL_MIN_BYTES:
        return 1
    env = os.environ.get("DREAMCLI_DREAM_WORKERS")
    if env and env.isdigit():
        return max(1, int(env))
    return max(1, min(os.cpu_count() or 1, 8))


def scan_one(source: Source, agg: Aggregates, *, playbook: str, stats: ReadStats, scope: Scope,
             now: datetime) -> SessionInfo | None:
    """One session from its file or its store (None: no readable session, or gone since it was listed).

    A file that cannot be opened (no permission, a directory) or read to its end (an I/O error) is named in
    `stats.unreadable` and skipped, never the dream's end; one that could not be opened is deferred (read
    again by the next dream, as a running session is), one that failed midway is not (what was read of it
    stays counted: reading it again would count that twice)."""
    try:
        f = open_source(source)
    except (KeyError, FileNotFoundError):
        return None
    except OSError as e:
        stats.unreadable.append(f"{_where(source)}: {os_reason(e)}")
        sid = source_id(source)
        return SessionInfo(sid, sid, None, [], None, deferred=True)
    with f:
        try:
            return scan_stream(f, agg, playbook=playbook, stats=stats, scope=scope, now=now)
        except OSError as e:
            stats.unreadable.append(f"{_where(source)}: {os_reason(e)} (while reading it)")
            return None


def _where(source: Source) -> str:
    return f"session {source.session_id} in {source.url}" if isinstance(source, StoreRef) else os.fspath(source)


def scan_files(files: Sequence[Source], agg: Aggregates, *, playbook: str, scope: Scope, now: datetime,
               progress: Progress | None = None, redaction: Sequence[str] = (),
               locate: Callable[[str], Source | None] | None = None,
               links: Callable[[Aggregates], bool] | None = None,
               on_warning: Warn | None = None) -> tuple[Scanned, ReadStats]:
    """Scan `files` (paths, or sessions in object storage) into `agg`; returns what the engine needs about
    the sessions and the read statistics. What the scan keeps of a session is redacted first, with the
    built-in rules and `redaction` (config `redaction.patterns`): `Aggregates.redact`. Then the imported
    sub-agents out of scope on their own whose lead it read in scope are read (`_adopt`): of `files`, or an
    earlier dream's, found by `locate` (a session id's source, None when it is gone). Then `links` adds what a
    selection knows of links beyond what it read (True if it added any: stages), and sub-agents join their
    lead's episode. Each file it could not read is named to `on_warning` (the CLI's `warning:` line), in this
    process whatever the executor, and kept in `Scanned.unreadable`."""
    agg.redaction = tuple(redaction)
    waited = set(agg.outside)  # left waiting by earlier dreams (a whole dream's state; a selection holds none)
    executor = current_executor()  # dream --workers/--executor (dreamcli.dream.executors); else by size
    one = executor is not None and executor.workers == 1
    # sizes decide the workers and balance the chunks; one worker told so needs them only for progress
    sizes = [source_size(p) for p in files] if not one or progress is not None else []
    total = sum(sizes)
    workers = executor.workers if executor is not None else workers_for(total)
    stats = ReadStats()
    scanned = Scanned()
    if workers == 1:
        for i, path in enumerate(files):
            info = scan_one(path, agg, playbook=playbook, stats=stats, scope=scope, now=now)
            if info is not None:
                scanned.add(info)
            if progress is not None and (i % 25 == 0 or i == len(files) - 1):
                progress("read", stats.bytes, total)
        _adopt(agg, scanned, stats, files, locate, waited, playbook=playbook, scope=scope, now=now)
        _join(agg, scanned, links, resolve=False)
        return _finished(scanned, stats, on_warning)
    # small chunks (a dozen per worker): the pool and this process share them out to the end
    target = total // (workers * CHUNKS_PER_WORKER) + 1
    chunks = _chunks(files, sizes, max(CHUNK_BYTES if executor is None else 1, target))
    known = set(agg.episodes) | set(agg.parents) | agg.running | agg.known  # leads a worker's sub-agents may follow
    done = 0  # bytes read by every worker, counted as each chunk's result comes in (not at its turn to merge)
    executor = executor or LocalExecutor(workers)

    def chunk_done(segments: list[Segment]) -> None:
        nonlocal done
        done += sum(segment[2].bytes for segment in segments if isinstance(segment, tuple))
        if progress is not None:
            progress("read", done, total)

    # the map; results come back in chunk order, so merges are deterministic
    # the patterns, not a Redactor, travel to the workers (forked processes, Ray tasks): strings pickle
    tasks = [(chunk, playbook, scope, now, known, agg.redaction) for chunk in chunks]
    for segments in map_telling(executor, _scan_chunk, tasks, chunk_done):
        for segment in segments:
            if isinstance(segment, tuple):
                part, part_scanned, part_stats = segment
                agg.merge(part)
                scanned.merge(part_scanned)
                stats.add(part_stats)
                continue
            before = stats.bytes  # a sub-agent handed back, read here after all that came before it
            info = scan_one(segment, agg, playbook=playbook, stats=stats, scope=scope, now=now)
            if info is not None:
                scanned.add(info)
            done += stats.bytes - before
        if progress is not None:
            progress("read", done, total)
    _adopt(agg, scanned, stats, files, locate, waited, playbook=playbook, scope=scope, now=now)
    _join(agg, scanned, links, resolve=True)
    return _finished(scanned, stats, on_warning)


def _adopt(agg: Aggregates, scanned: Scanned, stats: ReadStats, files: Sequence[Source],
           locate: Callable[[str], Source | None] | None, waited: set[str], **scan: Any) -> None:
    """Read, here and whole, the imported sub-agents whose first line only was read (out of scope on their own:
    `agg.outside`) now that their lead was read in scope (transcripts.adoptable), then theirs. Each is read once:
    one this scan read in scope already (imported again, with its lead) is not read again, one it set aside as
    running waits on. One this scan counted out of scope is counted no more, nor is what it read of it then (its
    first line, in `stats`: SessionInfo.counted); one an earlier whole dream left waiting (`waited`) leaves
    `other_scopes` once read in scope, here or by the scan (`_arrived`)."""
    running = {sid: agg.outside.pop(sid) for sid in scanned.deferred if sid in agg.outside}
    for sid in sorted(waited & scanned.ids):
        if agg.outside.pop(sid, None) is not None:
            _arrived(agg, scanned, sid)
    by_id: dict[str, Source] | None = None
    while ids := adoptable(agg):
        by_id = by_id if by_id is not None else {source_id(f): f for f in files}
        for sid in ids:
            if sid in scanned.ids:  # read in scope by the scan already (`waited` ones: above)
                continue
            source = by_id.get(sid) or (locate(sid) if locate is not None else None)
            if source is None:
                continue
            was = scanned.infos.pop(sid, None)
            if was is not None and was.skipped and not was.trial:
                scanned.out_of_scope -= 1
                if was.counted is not None:  # its first line, read by this scan: counted by the whole read below
                    _uncount(stats, was.counted)
            info = scan_one(source, agg, stats=stats, **scan)
            if info is not None:
                scanned.add(info)
                if sid in waited and sid in scanned.ids:
                    _arrived(agg, scanned, sid)
    settle(agg)
    agg.outside.update(running)  # read next time, with their lead held: in scope then


def _arrived(agg: Aggregates, scanned: Scanned, sid: str) -> None:
    """`sid`, left waiting out of scope by an earlier whole dream (which counted it in `other_scopes`), was read
    in scope: no longer another playbook's, and its grades that dream read are joined (grades.join)."""
    agg.other_scopes = max(0, agg.other_scopes - 1)
    scanned.waited.add(sid)


def _join(agg: Aggregates, scanned: Scanned, links: Callable[[Aggregates], bool] | None, *, resolve: bool) -> None:
    """Sub-agents into their lead's episode: the links `links` adds (a selection's), the imported ones linked by
    transcript, then every episode read without its lead moved to the lead's (`resolve`: whatever was linked)."""
    if links is not None and links(agg):
        resolve = True
    if _link_imported(agg, scanned) or resolve:  # imported sub-agents linked to their lead by transcript
        _resolve(agg, scanned)


def _link_imported(agg: Aggregates, scanned: Scanned) -> bool:
    """Imported sub-agents that name their lead by transcript only (gathered by the scan, or waiting since an
    earlier dream) linked to the lead that holds it, read now or by an earlier dream; True if any was."""
    linked = agg.link_imported()
    for child in linked:
        if child in scanned.ids and child not in scanned.infos:  # read now: its episode moves with it (_resolve)
            scanned.infos[child] = SessionInfo(child, child, None, [], None)
    return bool(linked)


def _resolve(agg: Aggregates, scanned: Scanned) -> None:
    """Episodes of sub-agents read without their lead (another chunk, an earlier dream, a lead named by transcript)
    moved to the lead's."""
    roots = agg.resolve_episodes()
    if roots:
        for sid, info in scanned.infos.items():
            if info.episode in roots:
                scanned.infos[sid] = replace(info, episode=roots[info.episode])
        scanned.episodes = {roots.get(e, e) for e in scanned.episodes}


def _finished(scanned: Scanned, stats: ReadStats, on_warning: Warn | None) -> tuple[Scanned, ReadStats]:
    """The scan's result, each file it could not read named to `on_warning` (the nightly dream goes on without
    them: docs/reliability.md)."""
    scanned.unreadable = stats.unreadable
    if on_warning is not None:
        for message in unreadable_warnings(stats.unreadable):
            on_warning(message)
    return scanned, stats


def unreadable_warnings(unreadable: Sequence[str]) -> list[str]:
    """The warnings of the files a scan could not read ("FILE: reason" each): the first WARN_UNREADABLE named one
    by one, the rest counted; a file name's unprintable characters shown as escapes."""
    said = [_printable(f"cannot read {problem}; session skipped") for problem in unreadable[:WARN_UNREADABLE]]
    if len(unreadable) > WARN_UNREADABLE:
        said.append(f"{len(unreadable) - WARN_UNREADABLE} more session files cannot be read; skipped")
    return said


def _printable(message: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in message)


def _chunks(files: Sequence[Any], sizes: list[int], target: int) -> list[list[Any]]:
    chunks: list[list[Any]] = [[]]
    acc = 0
    for path, size in zip(files, sizes, strict=True):
        if acc >= target and chunks[-1]:
            chunks.append([])
            acc = 0
        chunks[-1].append(path)
        acc += size
    return [c for c in chunks if c]


Segment = tuple[Aggregates, Scanned, ReadStats] | Source


def _scan_chunk(files: list[Any], playbook: str, scope: Scope, now: datetime, known: set[str],
                redaction: tuple[str, ...] = ()) -> list[Segment]:
    """The chunk's scan, in order: what was read here, cut where a sub-agent whose lead is in neither the chunk
    nor `known` is handed back (its source) for the main process to read in its turn (usually none)."""
    local = frozenset(source_id(s) for s in files)
    segments: list[Segment] = []
    # leads scanned earlier: their sub-agents belong to them
    agg, stats, scanned = Aggregates(known=known, redaction=redaction, local=local), ReadStats(), Scanned()
    for source in files:
        counts = _counts(stats)
        info = scan_one(source, agg, playbook=playbook, stats=stats, scope=scope, now=now)
        if info is None:
            continue
        if not info.away:
            scanned.add(info)
            continue
        _restore(stats, counts)  # the main process reads it again from its first line
        # what this chunk met stays known to the next segment: its leads, trials and their sub-agents
        mine = set(known) if agg.known is known else agg.known  # `known` itself is shared: copied once
        mine.update(agg.episodes, agg.parents, agg.running)
        trials = set(agg.trials)
        segments += [_sealed(agg, scanned, stats), source]
        agg = Aggregates(known=mine, redaction=redaction, local=local, trials=trials)
        stats, scanned = ReadStats(), Scanned()
    segments.append(_sealed(agg, scanned, stats))
    return segments


def _sealed(agg: Aggregates, scanned: Scanned, stats: ReadStats) -> tuple[Aggregates, Scanned, ReadStats]:
    agg.known, agg.local = set(), None  # not sent back
    return agg, scanned, stats


_COUNTS = ("lines", "events", "corrupt", "truncated", "bytes")


def _counts(stats: ReadStats) -> tuple[int, ...]:
    return tuple(getattr(stats, name) for name in _COUNTS)


def _restore(stats: ReadStats, counts: tuple[int, ...]) -> None:
    for name, n in zip(_COUNTS, counts, strict=True):
        setattr(stats, name, n)


def _uncount(stats: ReadStats, counted: tuple[int, ...]) -> None:
    """Take back what one read added to `stats` (SessionInfo.counted, in the order of _COUNTS)."""
    for name, n in zip(_COUNTS, counted, strict=True):
        setattr(stats, name, getattr(stats, name) - n)
