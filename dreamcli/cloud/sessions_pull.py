"""`cloud sessions pull`: page through Managed Agents sessions and their events and import each as an
ordinary session log (source `managed-agents`), through the transcript import runner: redacted, staged,
audited, idempotent by the cloud session id. Sessions still running are left for a later pull; one whose
events are gone (404: deleted after the listing) is skipped with a warning.

The fetched, redacted events wait in `state/cloud/sessions/.tmp-<ulid>-<pid>/` until the import has them;
the folder is removed when the pull ends, and one a killed pull left behind is swept as any temp folder
(dreamcli.workspace.sweep: its process gone; without a pid, an hour old)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dreamcli import sdk_beta
from dreamcli.cloud.client import api_message, attempts_of, cloud_error
from dreamcli.cloud.memory_pull import shown_redacted
from dreamcli.cloud.state import shown, valid_cloud_id
from dreamcli.config import workspace_redactor
from dreamcli.ids import new_ulid
from dreamcli.portability.arrivals import publisher
from dreamcli.redaction import Redactor
from dreamcli.sessions.importers import managed_agents as importer
from dreamcli.sessions.importers.common import clean_ts, parse_ts_ms, text_of
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import session_path
from dreamcli.textnorm import LONE_SURROGATE
from dreamcli.workspace.fsutil import atomic_write_text, ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.sweep import OLD_S, sweep_temp

IN_FLIGHT = ("running", "rescheduling")


@dataclass
class SessionsPullResult:
    listed: int = 0
    fetched: int = 0
    already: int = 0
    in_flight: int = 0
    imported: int = 0
    session_ids: list[str] = field(default_factory=list)
    events: int = 0
    skipped: int = 0  # sessions the API answered in a shape that cannot be imported (see warnings)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"listed": self.listed, "fetched": self.fetched, "already_imported": self.already,
                "in_flight": self.in_flight, "imported": self.imported, "events": self.events,
                "session_ids": self.session_ids, "skipped": self.skipped, "warnings": self.warnings}

    def skip(self, message: str, warned: Callable[[str], None] | None) -> None:
        self.skipped += 1
        self.warnings.append(message)
        if warned is not None:
            warned(message)


def pull_sessions(ws: Workspace, client: Any, *, agent_id: str | None = None, since: str | None = None,
                  limit: int | None = None, actor: str | None = None,
                  progress: Callable[[str], None] | None = None,
                  warned: Callable[[str], None] | None = None) -> SessionsPullResult:
    """Pull the sessions; `progress` takes a line on how far it got, `warned` each skipped session's warning as
    it comes (redacted), also kept in the result's `warnings`."""
    result = SessionsPullResult()
    redactor = workspace_redactor(ws.config_path)
    ws.ensure()
    cache = _new_cache(ws)
    try:
        try:
            for s in sdk_beta.iter_sessions(client, agent_id=agent_id, created_at_gte=since, order="desc",
                                            max_items=limit):
                result.listed += 1
                problem = session_problem(s, redactor)
                if problem is not None:
                    result.skip(redactor.redact_text(problem), warned)
                    continue
                if s.get("status") in IN_FLIGHT:
                    result.in_flight += 1
                    continue
                if session_path(ws, importer.session_id_for(s["id"], s["created_at"])).exists():
                    result.already += 1
                    continue
                try:
                    events = [redactor.redact_obj(e) for e in sdk_beta.iter_session_events(client, s["id"])]
                except sdk_beta.ListingTooLong as e:
                    result.skip(f"session {s['id']} skipped: more than {e.cap:,} events (the most dreamcli "
                                "imports from one session)", warned)
                    continue
                except sdk_beta.UnreadableItem as e:  # the session's own data; a page that is no page stops
                    result.skip(f"session {s['id']} skipped: one of its events is {e.kind}, not an object "
                                f"(item {e.index} of a page of its events)", warned)
                    continue
                except Exception as e:
                    gone = _gone(e, s["id"], redactor)
                    if gone is None:
                        raise
                    result.skip(gone, warned)
                    continue
                _write_cache(cache, redactor.redact_obj(s), events)
                result.fetched += 1
                result.events += len(events)
                if progress is not None:
                    progress(f"{result.fetched} sessions fetched ({result.listed} listed)")
        except Exception as e:
            raise cloud_error(e, what="pull Managed Agents sessions", redactor=redactor,
                              attempts=attempts_of(client)) from None
        if result.fetched:
            importer.register()
            summary = import_transcripts(ws, importer.SOURCE, cache, redaction_patterns=_patterns(ws), workers=1,
                                         actor=actor, on_commit=publisher(ws))
            result.imported = summary.sessions
            result.session_ids = list(summary.session_ids)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return result


def _gone(e: Exception, session_id: str, redactor: Any) -> str | None:
    """The warning for a session whose events answered 404 (deleted after it was listed), else None."""
    import anthropic

    if not isinstance(e, anthropic.NotFoundError):
        return None
    detail = shown(api_message(e, redactor), 200)
    return f"session {session_id} skipped: its events answered 404 not found ({detail}); deleted after the listing?"


def _new_cache(ws: Workspace) -> Any:
    """A fresh cache folder carrying this process's pid (swept if the pull is killed), once the caches of
    dead pulls are gone (and those of older dreamcli versions, named without a pid, over an hour old)."""
    root = ws.state_dir / "cloud" / "sessions"
    sweep_temp(root)
    try:
        entries = list(os.scandir(root))
    except OSError:
        entries = []
    for entry in entries:  # an older dreamcli's cache: `<ulid>/`, no pid to tell whether it is alive
        try:
            old = entry.is_dir(follow_symlinks=False) and len(entry.name) == 26 and entry.name.isalnum() \
                and time.time() - entry.stat(follow_symlinks=False).st_mtime > OLD_S
        except OSError:
            continue
        if old:
            shutil.rmtree(entry.path, ignore_errors=True)
    return root / f".tmp-{new_ulid()}-{os.getpid()}"


def session_problem(s: dict[str, Any], redactor: Redactor) -> str | None:
    """Why a listed session cannot be imported (its id is used in a URL and a file name, its creation
    time in the local session id; neither may be one the redaction rules call a secret), or None. A value
    it names is redacted whole before it is cut."""
    cloud_id = s.get("id")
    if cloud_id is None or cloud_id == "":
        return "a session without an id skipped"
    if not valid_cloud_id(cloud_id):
        return f"session {shown_redacted(cloud_id, redactor)} skipped: not a valid session id"
    if redactor.redact_text(cloud_id) != cloud_id:  # the import keeps it (source id, path): never in clear
        return (f"session {shown_redacted(cloud_id, redactor)} skipped: the redaction rules call its id a secret, "
                "and an imported session keeps its id")
    created = s.get("created_at")
    if parse_ts_ms(created) is None or clean_ts(created) is None:
        return f"session {cloud_id} skipped: created_at {shown_redacted(created, redactor)} is not an RFC 3339 time"
    if redactor.redact_text(str(created)) != created:
        return f"session {cloud_id} skipped: the redaction rules call its created_at a secret (the import needs it)"
    return None


def _patterns(ws: Workspace) -> tuple[str, ...]:
    from dreamcli.config import load_config

    return tuple(load_config(ws.config_path).redaction.patterns)


def _write_cache(cache: Any, session: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """One redacted JSONL file per session: the header, then the events. A lone surrogate (`"\\ud800"` in
    the API's JSON, which UTF-8 cannot hold) becomes U+FFFD, as the transcript importers read one."""
    prompt = next((text_of(e.get("content")) for e in events if e.get("type") == "user.message"), None)
    header = {"type": importer.HEADER, "session": session, "prompt": prompt}
    lines = [json.dumps(header, ensure_ascii=False)] + [json.dumps(e, ensure_ascii=False) for e in events]
    if not valid_cloud_id(session.get("id")):  # checked by session_problem; the file name must stay in the cache
        raise ValueError(f"invalid session id {shown(session.get('id'))}")
    ensure_dir(cache)
    text = "\n".join(lines) + "\n"  # JSON text: a surrogate can only be a string's (or a key's) character
    atomic_write_text(cache / f"{session['id']}.jsonl", LONE_SURROGATE.sub("\ufffd", text), fsync=False)
