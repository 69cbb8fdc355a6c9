"""Append-only session writer: one whole JSON line per write(), redacted before it reaches disk,
fsync at the end. A process killed mid-session leaves a valid prefix.

The writer is where data enters the session log, so it owns redaction: every event's fields pass
through its Redactor exactly once (pass `redactor=dreamcli.redaction.for_config(config)`; the
default has the built-in rules only). Each secret value it replaced is then redacted wherever it
recurs later in the session, bare (dreamcli.redaction.recurring). `write()` returns the event as logged (redacted; lone
surrogates as U+FFFD, see `_line`), so a caller that also sends the data on (the agent loop's
history) can use that copy instead of redacting again."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from dreamcli import __version__
from dreamcli.codec import dumps_line, without_lone_surrogates
from dreamcli.ids import new_ulid
from dreamcli.redaction import Redactor, default_redactor
from dreamcli.redaction.recurring import RecurringSecrets
from dreamcli.sessions import schema
from dreamcli.sessions.paths import remove_empty_day, session_path
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import open_append, sync_fd, write_all
from dreamcli.workspace.home import Workspace


class LineSink(Protocol):
    """Told of the file opened, of every line written and of the end (dreamcli.store.sink: the session
    index notes the sealed file; object storage uploads the lines)."""

    def opened(self, session_id: str, path: Path) -> None: ...

    def appended(self, session_id: str) -> None: ...

    def sealed(self, session_id: str) -> None: ...


def _line(event: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """One JSONL line and the event it holds: compact UTF-8 JSON through dreamcli.codec (what
    `json.dumps` wrote, NaN as null). Only when that fails: lone surrogates in strings (a file name
    that is not UTF-8, `\\ud800` in a model's text) become U+FFFD, and the event returned is that
    cleaned copy; a dict key msgspec refuses and the standard library writes (True, None) goes the
    standard library's way. Clean events cost nothing more."""
    try:
        return dumps_line(event), event
    except (TypeError, UnicodeEncodeError):
        pass
    event = without_lone_surrogates(event)
    try:
        return dumps_line(event), event
    except TypeError:
        import json

        return (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"), event


class SessionWriter:
    """Writes one session file. Thread-safe (sub-agents and tools may log from other threads)."""

    def __init__(
        self,
        ws: Workspace,
        *,
        session_id: str | None = None,
        redactor: Redactor | None = None,
        path: Path | None = None,
        fsync: bool = True,
        sink: LineSink | None = None,
    ) -> None:
        """`fsync=False` leaves syncing to the caller (bulk imports sync a whole batch at once). `sink` is
        told of each line once it is in the file, and of the close (docs/scaling.md)."""
        self._sink = sink
        self.session_id = session_id or new_ulid()
        self._fsync = fsync
        self.path = path or session_path(ws, self.session_id)
        self._dated = None if path is not None else ws  # the log is in a dated folder of the workspace's
        self.redactor = redactor or default_redactor()
        self._recurring = RecurringSecrets()
        self._seq = 0
        self._lock = threading.Lock()
        self._fd: int | None = open_append(self.path)
        self.ended = False
        if sink is not None:
            sink.opened(self.session_id, self.path)

    # --- generic -------------------------------------------------------------------------------
    def write(self, type_: str, ts: str | None = None, **fields: Any) -> dict[str, Any]:
        """Append one event. `fields` are redacted; the envelope (v, type, ts, session_id, seq) is added."""
        with self._lock:
            if self._fd is None:
                raise RuntimeError(f"session {self.session_id} is closed")
            event: dict[str, Any] = {
                "v": schema.SCHEMA_VERSION,
                "type": type_,
                "ts": ts or now_rfc3339(),
                "session_id": self.session_id,
                "seq": self._seq,
            }
            red = self.redactor.redact_obj(fields)
            if red is not fields:  # a secret: remembered, to be found again bare
                self._recurring.learn(fields, red, self.redactor)
            if self._recurring:
                red = self._recurring.redact(red)
            event.update(red)
            line, event = _line(event)
            self._emit(self._fd, line)
            self._seq += 1  # the line is written: counted even if the sink is cut short (Ctrl-C in an upload)
            if type_ == schema.SESSION_END:
                self.ended = True
            if self._sink is not None:
                self._sink.appended(self.session_id)
            return event

    def redact_text(self, s: str) -> str:
        """`s` redacted as this session's lines are: by the rules, and wherever a secret value this session
        has already redacted recurs bare. What the rules find here is remembered too: a tool's output is
        redacted before the log sees it (`ToolEnv.redact`), so a password a tool printed (`cat .env`) is
        found again in the agent's next command, its memory notes and its answer."""
        red = self.redactor.redact_text(s)
        with self._lock:
            if red is not s:
                self._recurring.learn(s, red, self.redactor)
            if self._recurring:
                red = self._recurring.redact(red)
        return red

    def _emit(self, fd: int, line: bytes) -> None:
        """Put one whole line in the file (a staging writer of a bulk import buffers them instead)."""
        write_all(fd, line)

    # --- typed helpers --------------------------------------------------------------------------
    def start(
        self,
        *,
        task: dict[str, Any],
        model: str | None,
        workdir: str | None,
        source: str = "dreamcli",
        agent: str | None = None,
        playbooks: list[dict[str, Any]] | None = None,
        parent_session_id: str | None = None,
        base_url_host: str | None = None,
        tags: list[str] | None = None,
        ts: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        return self.write(
            schema.SESSION_START,
            ts=ts,
            task=task,
            agent=agent,
            playbooks=playbooks or [],
            model=model,
            base_url_host=base_url_host,
            parent_session_id=parent_session_id,
            workdir=workdir,
            tags=tags or [],
            source=source,
            dreamcli_version=__version__,
            **extra,
        )

    def message(self, role: str, content: Any, ts: str | None = None, **extra: Any) -> dict[str, Any]:
        return self.write(schema.MESSAGE, ts=ts, role=role, content=content, **extra)

    def tool(self, *, tool_use_id: str, name: str, duration_ms: float | None = None,
             exit_code: int | None = None, error_kind: str | None = None, truncated: bool = False,
             ts: str | None = None, **extra: Any) -> dict[str, Any]:
        return self.write(schema.TOOL, ts=ts, tool_use_id=tool_use_id, name=name, duration_ms=duration_ms,
                          exit_code=exit_code, error_kind=error_kind, truncated=truncated, **extra)

    def evaluation(self, **fields: Any) -> dict[str, Any]:
        return self.write(schema.OUTCOME_EVALUATION, **fields)

    def subagent(self, *, event: str, child_session_id: str, brief: str | None = None,
                 status: str | None = None, **extra: Any) -> dict[str, Any]:
        return self.write(schema.SUBAGENT, event=event, child_session_id=child_session_id, brief=brief,
                          status=status, **extra)

    def end(self, status: str, *, error: str | None = None, totals: dict[str, Any] | None = None,
            ts: str | None = None, **extra: Any) -> dict[str, Any]:
        try:
            event = self.write(schema.SESSION_END, ts=ts, status=status, error=error, totals=totals or {}, **extra)
        finally:
            if self.ended:  # written, even if Ctrl-C or SIGTERM cut its upload short: synced, closed, sealed
                self.close()
        return event

    @property
    def sink(self) -> LineSink | None:
        """What is told of the lines and the seal (dreamcli.store.sink), if anything."""
        return self._sink

    def close(self) -> None:
        with self._lock:
            if self._fd is None:
                return
            try:
                if self._fsync:
                    sync_fd(self._fd, self.path)
            finally:
                os.close(self._fd)
                self._fd = None
                if self._sink is not None:
                    self._sink.sealed(self.session_id)

    def discard(self) -> None:
        """Close, and remove the file and the dated folders that leaves empty (`remove_empty_day`): for a log
        that holds nothing, its run refused before the session started."""
        self.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
        if self._dated is not None:
            remove_empty_day(self._dated, self.path.parent)

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self.ended and self._fd is not None:
            if exc_type is KeyboardInterrupt:
                self.end("interrupted", error="interrupted by the user")
            elif exc is not None:
                self.end("error", error=str(exc) or exc_type.__name__)
        self.close()
