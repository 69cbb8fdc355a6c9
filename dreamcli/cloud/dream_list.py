"""`cloud dream list`: the workspace's record of its cloud dreams (`dream_record`), newest first. With a
client (`--refresh`), each unfinished dream that has an id and no final status is asked for (one
`dreams.retrieve` each) and its record brought up to date; nothing else is sent. Every value is shown
as the workspace's rules redact it."""

from __future__ import annotations

from typing import Any

from dreamcli import sdk_beta
from dreamcli.cloud.client import attempts_of, cloud_error
from dreamcli.cloud.dream_job import checked_dream
from dreamcli.cloud.dream_record import FINAL, DreamRecord, load_all, refreshed
from dreamcli.cloud.state import valid_cloud_id
from dreamcli.config import workspace_redactor
from dreamcli.redaction import Redactor
from dreamcli.workspace.home import Workspace


def list_dreams(ws: Workspace, *, client: Any = None) -> list[dict[str, Any]]:
    """The recorded cloud dreams, newest first, as `--json` shows them; refreshed first with `client`."""
    redactor = workspace_redactor(ws.config_path)
    records = load_all(ws)
    if client is not None:
        records = [_refresh(ws, client, r, redactor) if needs_refresh(r) else r for r in records]
    return [redactor.redact_obj(row(r)) for r in records]


def needs_refresh(record: DreamRecord) -> bool:
    """Whether the API may know more: unfinished, not final when last seen, and with an id it can be asked by
    (an id the rules redacted is no id)."""
    return not record.finished and record.status not in FINAL and valid_cloud_id(record.cloud_dream_id)


def row(record: DreamRecord) -> dict[str, Any]:
    return {"cloud_dream_id": record.cloud_dream_id, "created": record.created, "status": record.status,
            "finished": record.finished, "store_id": record.store_id, "output_store": record.output_store,
            "proposal": record.proposal, "sessions": record.sessions, "model": record.model}


def _refresh(ws: Workspace, client: Any, record: DreamRecord, redactor: Redactor) -> DreamRecord:
    dream_id = str(record.cloud_dream_id)
    try:
        got = sdk_beta.retrieve_dream(client, dream_id)
    except Exception as e:
        raise cloud_error(e, what=f"check cloud dream {dream_id}", redactor=redactor,
                          attempts=attempts_of(client)) from None
    got = checked_dream(got, redactor)
    output = next((o["memory_store_id"] for o in got["outputs"] if o.get("memory_store_id")), None)
    return refreshed(ws, record, status=redactor.redact_text(got["status"]),
                     output_store=redactor.redact_text(output) if output else record.output_store)
