"""`cloud dream list`: the workspace's record of its cloud dreams (`dream_record`), newest first; a record file
that cannot be read is named, one warning each, and left as it is. With a client (`--refresh`), each
unfinished dream that has an id is asked for (one `dreams.retrieve` each) and its record brought up to date;
one that completed with no proposal written (its `cloud dream` killed, or stopped by an error) then becomes
its proposal (`dream_result.settle`: its stores are read as `cloud dream` reads them). A dream the API answers
404 for is recorded as final (`not found in the cloud`) and never asked for again, but only when the dreams
route is proved: the API answers any path it does not serve (a wrong base URL, a key without the dreams route)
with the same 404. Another dream found in the same refresh proves it; with none found, one listing of the
dreams (`limit=1`) does when it answers a page (not asked for after an error every request would meet). If it
does not (an error, a 404, no page), the 404s are one warning and those dreams stay as last seen. Any other
error is one warning for that dream, listed as last seen, and the others are still asked for, except after an
error that every request would meet (no connection, a timeout, refused credentials): the rest are then left as
last seen, in one more warning. Every value is shown as the workspace's rules redact it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from dreamcli import sdk_beta
from dreamcli.cloud.client import attempts_of, cloud_error
from dreamcli.cloud.dream_base import claimed, sweep_orphans, tidy
from dreamcli.cloud.dream_job import checked_dream
from dreamcli.cloud.dream_record import NOT_FOUND, DreamRecord, distinct, load_all, refreshed
from dreamcli.cloud.dream_result import settle
from dreamcli.cloud.state import valid_cloud_id
from dreamcli.config import workspace_redactor
from dreamcli.errors import DreamError, LockHeld
from dreamcli.redaction import Redactor
from dreamcli.workspace.home import Workspace


@dataclass
class Listing:
    """The rows `--json` shows; one warning line (redacted) per dream `--refresh` could not check or bring in;
    the record files that cannot be read (`file`, `problem`) and the warning line of each; the (cloud dream,
    local proposal) `--refresh` wrote a proposal for."""

    rows: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    unreadable: list[dict[str, str]] = field(default_factory=list)
    unreadable_warnings: list[str] = field(default_factory=list)
    written: list[tuple[str, str]] = field(default_factory=list)


class Unchecked(Exception):
    """A dream `--refresh` could not check: the line to show, and whether the next requests would fail too."""

    def __init__(self, line: str, *, stops: bool) -> None:
        super().__init__(line)
        self.line, self.stops = line, stops


class NotFound(Exception):
    """The API answered 404 `not_found_error` for the dream: news of it only once the dreams route is proved."""


def list_dreams(ws: Workspace, *, client: Any = None) -> Listing:
    """The recorded cloud dreams, newest first, as `--json` shows them; refreshed first with `client`."""
    redactor = workspace_redactor(ws.config_path)
    records, unreadable = load_all(ws)
    warnings: list[str] = []
    written: list[tuple[str, str]] = []
    if client is not None:
        records = distinct(_refresh_all(ws, client, records, redactor, warnings, written))
        sweep_orphans(ws)
    bad = [redactor.redact_obj({"file": str(u.path), "problem": u.problem}) for u in unreadable]
    return Listing([redactor.redact_obj(row(r)) for r in records], [redactor.redact_text(w) for w in warnings],
                   bad, [_unreadable_line(u) for u in bad],
                   [(redactor.redact_text(c), redactor.redact_text(p)) for c, p in written])


def _unreadable_line(u: dict[str, str]) -> str:
    return f"cloud dream record {u['file']} cannot be read ({u['problem']}): not listed; left as it is"


def needs_refresh(record: DreamRecord) -> bool:
    """Whether the API may know more: unfinished (a completed dream with no proposal written too: `--refresh`
    writes it), and with an id it can be asked by (an id the rules redacted is no id)."""
    return not record.finished and valid_cloud_id(record.cloud_dream_id)


def row(record: DreamRecord) -> dict[str, Any]:
    return {"cloud_dream_id": record.cloud_dream_id, "created": record.created, "status": record.status,
            "finished": record.finished, "store_id": record.store_id, "output_store": record.output_store,
            "proposal": record.proposal, "sessions": record.sessions, "model": record.model, "note": record.note}


def _refresh_all(ws: Workspace, client: Any, records: list[DreamRecord], redactor: Redactor,
                 warnings: list[str], written: list[tuple[str, str]]) -> list[DreamRecord]:
    """`records`, each one that needs it refreshed; a warning in `warnings` for each one that could not be, and
    in `written` each (cloud dream, local proposal) a completed one became."""
    out: list[DreamRecord] = []
    stopped, skipped, found = False, 0, False
    missing: list[int] = []  # where in `out` the dreams the API answered 404 for are
    for record in records:
        if needs_refresh(record) and stopped:
            skipped += 1
        elif needs_refresh(record):
            try:
                record, found = _refresh(ws, client, record, redactor, warnings, written), True
            except NotFound:
                missing.append(len(out))
            except Unchecked as e:
                warnings.append(f"{e.line}; listed as last seen")
                stopped = e.stops
        out.append(record)
    if skipped:
        warnings.append(f"{skipped} more unfinished cloud dream{'' if skipped == 1 else 's'} not checked after "
                        "that error: listed as last seen")
    proved = found or bool(missing and not stopped and _route_answers(client))
    return _settled(ws, out, missing, proved, warnings)


def _route_answers(client: Any) -> bool:
    """Whether the dreams route answers this key at this base URL: one listing (`limit=1`) answered with a page
    of dreams. Any error, a 404 or an answer that is no page proves nothing."""
    try:
        sdk_beta.first_dreams(client, limit=1)
    except Exception:
        return False
    return True


def _settled(ws: Workspace, records: list[DreamRecord], missing: list[int], proved: bool,
             warnings: list[str]) -> list[DreamRecord]:
    """`records`, those at `missing` recorded as not found when the dreams route is `proved` (another dream
    found, or the dreams listed), else left as last seen: the 404 may be the route's own. One warning line
    each way."""
    if missing and not proved:
        ids = ", ".join(str(records[i].cloud_dream_id) for i in missing)
        warnings.append(f"the API answered 404 not found for cloud dream{'' if len(missing) == 1 else 's'} {ids} "
                        "and found no dream asked for: a wrong base URL (ANTHROPIC_BASE_URL), or no dreams route "
                        "for this key? listed as last seen")
        return records
    out = list(records)
    for i in missing:
        out[i] = tidied(ws, refreshed(ws, out[i], status=NOT_FOUND, output_store=out[i].output_store,
                                      finished=True))
        warnings.append(f"cloud dream {out[i].cloud_dream_id}: the API answered 404 not found (deleted, or made "
                        f"with another key or organization?): recorded as {NOT_FOUND}, never asked for again")
    return out


def _refresh(ws: Workspace, client: Any, record: DreamRecord, redactor: Redactor, warnings: list[str],
             written: list[tuple[str, str]]) -> DreamRecord:
    """The record with what the API says of it now, made a proposal when it completed (`_brought_in`);
    NotFound on a 404 for it, Unchecked when the API cannot say."""
    dream_id = str(record.cloud_dream_id)
    try:
        got = checked_dream(sdk_beta.retrieve_dream(client, dream_id), redactor)
    except Exception as e:
        if _not_found(e):
            raise NotFound(dream_id) from None
        raise _unchecked(e, client, dream_id, redactor) from None
    output = next((o["memory_store_id"] for o in got["outputs"] if o.get("memory_store_id")), None)
    record = refreshed(ws, record, status=redactor.redact_text(got["status"]),
                       output_store=redactor.redact_text(output) if output else record.output_store)
    if got["status"] != "completed" or record.finished:
        return tidied(ws, record)
    return _brought_in(ws, client, record, got, redactor, warnings, written)


def tidied(ws: Workspace, record: DreamRecord) -> DreamRecord:
    """The record, its base and claim removed once it is finished (failed, canceled, not found)."""
    if record.finished:
        with contextlib.suppress(LockHeld), claimed(ws, record.record_id):
            tidy(ws, record.record_id, record)
    return record


def _brought_in(ws: Workspace, client: Any, record: DreamRecord, got: dict[str, Any], redactor: Redactor,
                warnings: list[str], written: list[tuple[str, str]]) -> DreamRecord:
    """A completed dream's record, its proposal written if none was (`settle`); a warning when it cannot be
    yet; (cloud dream, proposal) in `written` when it was."""
    dream_id = record.cloud_dream_id
    try:
        done = settle(ws, client, record, got, redactor)
    except LockHeld:
        warnings.append(f"cloud dream {dream_id} completed; another dreamcli (the command that started it, or "
                        "another refresh) is still at work on it (writing its proposal): listed as last seen")
        return record
    if done.warning is not None:
        warnings.append(done.warning)
    if done.written is not None:
        written.append((str(dream_id), done.written))
    return done.record


def _not_found(e: Exception) -> bool:
    """Whether the API itself answered 404 `not_found_error` (a proxy's HTML 404 is no answer at all); the API
    answers a route it does not serve the same way, so it is news of the dream only once the route is proved."""
    import anthropic

    body = getattr(e, "body", None)
    err = body.get("error") if isinstance(body, dict) else None
    return isinstance(e, anthropic.NotFoundError) and isinstance(err, dict) and err.get("type") == "not_found_error"


def _unchecked(e: Exception, client: Any, dream_id: str, redactor: Redactor) -> Unchecked:
    """The warning line for a failed check (redacted), and whether it stops the rest:
    an error with no answer about this dream (no connection, a timeout, refused credentials)."""
    import anthropic

    error = e if isinstance(e, DreamError) else cloud_error(e, what=f"check cloud dream {dream_id}",
                                                              redactor=redactor, attempts=attempts_of(client))
    line = redactor.redact_text(" ".join(str(error).split()))  # the API's text in it: cut to 300 already
    answered = isinstance(e, DreamError | anthropic.APIStatusError) and not isinstance(
        e, anthropic.AuthenticationError | anthropic.PermissionDeniedError)
    return Unchecked(line if dream_id in line else f"cloud dream {dream_id}: {line}", stops=not answered)
