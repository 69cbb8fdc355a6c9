"""`dreamcli export sessions --format parquet DIR`: every session event as one row, with its session's
fields, in a Hive-partitioned Parquet dataset (DIR/date=YYYY-MM-DD/part-0.parquet, the UTC date the
session started), for DuckDB or Spark. Needs pyarrow (`pip install 'dreamcli[parquet]'`). Events are
redacted again with the workspace's patterns on the way out. Schema: docs/session-log.md. The dataset is
written beside DIR and renamed onto it when whole (`staged_dir`): a failed, interrupted or killed export
leaves DIR as it was, and --force replaces an existing DIR only then.

With sessions in object storage (`sessions.url`, docs/scaling.md) the dataset holds every session of the
bucket as well: this machine's own from their files (they hold at least what was uploaded), the others'
read from the bucket. A store that cannot be listed or read stops the export with its error (exit 4 or 2).

Lines are read as `parquet_lines` says: what can be kept is (wrong-typed values as nulls, a lone surrogate
escape as U+FFFD); what cannot is counted in `ParquetExport.left_out`, which the command reports."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.errors import DreamError, UsageError, storage_error
from dreamcli.ids import ulid_time_ms
from dreamcli.numbers import finite
from dreamcli.portability.failures import workspace_failure
from dreamcli.portability.parquet_lines import LeftOut, read_lines
from dreamcli.portability.staged_dir import discard, make_staging, publish, staging_path, sweep_leftovers
from dreamcli.redaction import Redactor
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import LINE_BUFFER, parse_line
from dreamcli.textnorm import LONE_SURROGATE
from dreamcli.workspace.fsutil import FILE_MODE, ensure_dir
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.store.base import SessionStore

# (column, arrow type name): session fields first, then the event's own, then the whole event as JSON.
SESSION_COLUMNS = [("session_id", "string"), ("session_started", "string"), ("task", "string"),
                   ("source", "string"), ("model", "string"), ("agent", "string"), ("parent_session_id", "string"),
                   ("tags", "list<string>"), ("session_status", "string")]
EVENT_COLUMNS = [("seq", "int64"), ("type", "string"), ("ts", "string"), ("role", "string"),
                 ("tool_name", "string"), ("exit_code", "int64"), ("error_kind", "string"),
                 ("duration_ms", "double"), ("input_tokens", "int64"), ("output_tokens", "int64"),
                 ("cost_usd", "double"), ("event", "string")]


_INT64 = -(2**63)

Progress = Callable[[int, int], None]  # (sessions read, sessions in all), after each session


@dataclass
class ParquetExport:
    output: str
    sessions: int = 0
    events: int = 0
    partitions: int = 0
    files: int = 0
    left_out: LeftOut = field(default_factory=LeftOut)  # lines and sessions not in the dataset, by reason

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "left_out": self.left_out.to_json()}


def _day(session_id: str) -> str:
    try:
        return datetime.fromtimestamp(ulid_time_ms(session_id) / 1000, UTC).strftime("%Y-%m-%d")
    except (ValueError, OverflowError, OSError):  # no time in the id, or one no date holds
        return "unknown"


def _typed(value: Any, kind: str) -> Any:
    if kind == "string":
        return value if isinstance(value, str) else None
    if kind == "int64":  # a log may hold any JSON integer: past 64 bits it is no int64
        return value if isinstance(value, int) and not isinstance(value, bool) and _INT64 <= value < -_INT64 else None
    if kind == "double":
        return finite(value)
    if value is None:  # a session.start without tags, or no session.start
        return []
    return [str(v) for v in value] if isinstance(value, list) else None


def session_rows(events: list[dict[str, Any]], session_id: str) -> Iterable[dict[str, Any]]:
    start = events[0] if events and events[0].get("type") == "session.start" else {}
    end = events[-1] if events and events[-1].get("type") == "session.end" else {}
    task = start.get("task")
    common = {"session_id": session_id, "session_started": start.get("ts"),
              "task": task.get("name") if isinstance(task, dict) else None, "source": start.get("source"),
              "model": start.get("model"), "agent": start.get("agent"),
              "parent_session_id": start.get("parent_session_id"), "tags": start.get("tags"),
              "session_status": end.get("status") or "incomplete"}
    for e in events:
        usage = e.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        row = dict(common, seq=e.get("seq"), type=e.get("type"), ts=e.get("ts"), role=e.get("role"),
                   tool_name=e.get("name") if e.get("type") == "tool" else None, exit_code=e.get("exit_code"),
                   error_kind=e.get("error_kind"), duration_ms=e.get("duration_ms"),
                   input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"),
                   cost_usd=e.get("cost_usd"),
                   event=json.dumps(e, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
        yield {name: _typed(row.get(name), kind) for name, kind in SESSION_COLUMNS + EVENT_COLUMNS}


def arrow_schema(pa: Any) -> Any:
    types = {"string": pa.string(), "int64": pa.int64(), "double": pa.float64(), "list<string>": pa.list_(pa.string())}
    return pa.schema([(name, types[kind]) for name, kind in SESSION_COLUMNS + EVENT_COLUMNS])


def export_parquet(ws: Workspace, output: Path, redactor: Redactor, *, force: bool = False,
                   progress: Progress | None = None) -> ParquetExport:
    """Write the dataset into a staging folder beside `output` and rename it into place when whole
    (`staged_dir`): an error, Ctrl-C or kill -9 leaves `output` as it was; --force replaces it only then.
    `progress` is told how many sessions were read after each (thousands from a bucket take minutes)."""
    try:
        import pyarrow as pa  # lazy: the optional extra dreamcli[parquet]
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("--format parquet needs pyarrow: pip install 'dreamcli[parquet]'") from None
    output = Path(os.path.abspath(output))  # `.`, `..`, `a/..`: a folder with a name its parent holds
    try:
        sweep_leftovers(output.parent)  # what an export killed with -9 left beside it
        _check_target(output, force)
        by_day, store = _sources(ws)  # a store that cannot be listed stops the export before any write
        staging = make_staging(output)
        try:
            result = _export(pa, pq, staging, by_day, store, redactor, ParquetExport(output=str(output)),
                             progress)
            publish(staging, output, force=force)
        except BaseException:
            discard(staging)
            raise
    except OSError as e:
        if isinstance(e, BrokenPipeError):
            raise
        raise workspace_failure(e, ws, output) or _write_error(e, output) from None
    return result


def _write_error(e: OSError, output: Path) -> DreamError:
    """Why the dataset could not be written: the machine's (a full disk or quota, a read-only file system, an
    I/O error: exit 74, `storage_error`, its advice naming -o), else the DIR given (no permission, a file in
    the way: exit 2). The file named is the one in `output` a file of the staging folder becomes; `output`
    itself when the error names none (pyarrow's full disk names no file)."""
    name = e.filename if isinstance(e.filename, str) else str(output)
    staging = str(staging_path(output, os.getpid()))
    if name == staging or name.startswith(staging + os.sep):  # the folder that becomes DIR when whole
        name = str(output) + name[len(staging):]
    named = OSError(e.errno, e.strerror, name) if e.errno is not None else e
    return storage_error(named, elsewhere="another -o PATH") or UsageError(f"cannot write {name}: {e.strerror or e}")


def _check_target(output: Path, force: bool) -> None:
    if output.is_symlink():  # the finished dataset is renamed onto it: the link would be replaced
        raise UsageError(f"{output} is a symbolic link (refused: name the directory it points to, or a new one)")
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output} exists and is not a directory (name a directory to write the dataset into)")
    if output == Path.cwd() or output in Path.cwd().parents:  # renamed onto: the shell's folder would go
        raise UsageError(f"{output} is the current directory or holds it (refused: the dataset replaces the "
                         "folder it is written to; name a new one, e.g. ./sessions-parquet)")
    if output.exists() and any(output.iterdir()) and not force:
        raise UsageError(f"{output} exists and is not empty (use --force to replace it)")
    foreign = sorted(p.name for p in output.iterdir() if not p.name.startswith("date=")) if output.is_dir() else []
    if foreign:  # --force replaces a dataset, never what else a folder holds
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise UsageError(f"{output} holds {foreign[0]!r}{more}, not part of a Parquet dataset (refused: --force "
                         "replaces only a dataset's date=… partitions; name a new or empty directory)")


Sources = dict[str, list[Path | str]]


def _sources(ws: Workspace) -> tuple[Sources, SessionStore | None]:
    """The sessions to export grouped by partition ({day: session files, or bucket session ids}), and the
    bucket they are read from. Grouped first (their paths only), so each partition is written once, as
    part-0.parquet, whatever order its sessions are read in: a session filed under another day's
    directory, or ids with no time (date=unknown), must not replace a part already written."""
    by_day: Sources = {}
    for path in iter_session_files(ws):
        by_day.setdefault(_day(path.stem), []).append(path)
    store = bucket_store(ws)
    if store is not None:  # the bucket's sessions this machine has no file of, in id order within a day
        here = {p.stem.upper() for paths in by_day.values() for p in paths if isinstance(p, Path)}
        for s in store.list():
            if s.session_id.upper() not in here:
                by_day.setdefault(_day(s.session_id), []).append(s.session_id.upper())
        for day, listed in by_day.items():
            by_day[day] = sorted(listed, key=lambda p: p.stem.upper() if isinstance(p, Path) else p)
    return by_day, store


def _export(pa: Any, pq: Any, folder: Path, by_day: Sources, store: SessionStore | None, redactor: Redactor,
            result: ParquetExport, progress: Progress | None = None) -> ParquetExport:
    """Write every partition into `folder` (the staging folder), counting into `result`."""
    schema = arrow_schema(pa)
    total, done = sum(len(sources) for sources in by_day.values()), 0
    for day, sources in by_day.items():  # one partition in memory at a time
        rows: list[dict[str, Any]] = []
        sessions = 0
        for source in sources:
            if isinstance(source, Path):
                read = iter_events(source, result.left_out)
                session_id = LONE_SURROGATE.sub("\ufffd", source.stem.upper())  # a file name not in UTF-8
            else:
                read, session_id = bucket_events(store, source, result.left_out), source
            events = [redactor.redact_obj(e) for e in read]
            if events:
                sessions += 1
                rows.extend(session_rows(events, session_id))
            done += 1
            if progress is not None:
                progress(done, total)
        if rows:
            _write(pa, pq, schema, folder, day, rows, result)
            result.sessions += sessions
    return result


def bucket_store(ws: Workspace) -> SessionStore | None:
    """The workspace's object store (its sessions.url), or None for its own sessions/ directory."""
    from dreamcli.config import load_config
    from dreamcli.store.url import is_local, open_store

    url = load_config(ws.config_path).sessions.url
    return None if is_local(url) else open_store(ws, url)


def iter_events(path: Path, left: LeftOut) -> list[dict[str, Any]]:
    """The events of a session file as the export reads them (`parquet_lines`: more than the session
    reader's `iter_events` keeps), what is left out counted into `left`."""
    with open(path, "rb", buffering=LINE_BUFFER) as f:
        return read_lines(f, str(path), left)


def bucket_events(store: SessionStore | None, session_id: str, left: LeftOut) -> list[dict[str, Any]]:
    """`iter_events` of a session's uploaded parts (none when the bucket no longer has it)."""
    assert store is not None
    try:
        with store.open(session_id) as f:
            return read_lines(f, f"{session_id} in the bucket", left)
    except KeyError:
        return []


def stored_events(store: SessionStore | None, session_id: str) -> list[dict[str, Any]]:
    """The valid events of a session's uploaded parts, as the session reader reads them (none when the
    bucket no longer has it): a bundle's sessions."""
    assert store is not None
    try:
        with store.open(session_id) as f:
            return [e for e in (parse_line(raw) for raw in f if raw.strip()) if e is not None]
    except KeyError:
        return []


def _write(pa: Any, pq: Any, schema: Any, folder: Path, day: str, rows: list[dict[str, Any]],
           result: ParquetExport) -> None:
    """One partition, `folder/date=<day>/part-0.parquet` (`folder` is the staging folder: no temp name)."""
    part = ensure_dir(folder / f"date={day}") / "part-0.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), part, compression="zstd")
    os.chmod(part, FILE_MODE)
    result.events += len(rows)  # counted once written
    result.partitions += 1
    result.files += 1
