"""The Message Batches API of the fake server.

A batch is "in_progress" for the first `server.batch_polls_before_end` retrieves, then "ended". Its
requests are answered when it ends, by the same script / responder as /v1/messages, and recorded in
`server.requests` with path "/v1/messages", .batch_id and .custom_id. A batch canceled before it ends
consumes no replies: every request is "canceled".
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dreamcli.testing.fake_anthropic.ports import Answer, Backend
from dreamcli.testing.fake_anthropic.recorded import RecordedRequest
from dreamcli.testing.fake_anthropic.replies import message_json, new_id

PREFIX = "/v1/messages/batches"


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Batch:
    id: str
    requests: list[dict[str, Any]]
    headers: dict[str, str]
    created_at: datetime
    polls: int = 0
    status: str = "in_progress"
    cancel_initiated_at: datetime | None = None
    ended_at: datetime | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


class BatchStore:
    def __init__(self, fake: Backend) -> None:
        self.fake = fake
        self.batches: dict[str, Batch] = {}
        self._lock = threading.Lock()

    # -- routing ---------------------------------------------------------------------------------

    def handle(self, handler: Answer, rec: RecordedRequest) -> None:
        rest = rec.path[len(PREFIX) :].strip("/")
        parts = rest.split("/") if rest else []
        method = rec.method
        if not parts:
            if method == "POST":
                self._create(handler, rec)
            elif method == "GET":
                self._list(handler)
            else:
                handler.unexpected(rec, "method not allowed on /v1/messages/batches")
            return
        batch = self.batches.get(parts[0])
        if batch is None:
            handler.send_json(404, _error("not_found_error", f"message batch {parts[0]!r} not found"))
            return
        if len(parts) == 1 and method == "GET":
            self._retrieve(handler, batch)
        elif len(parts) == 1 and method == "DELETE":
            self._delete(handler, batch)
        elif parts[1:] == ["results"] and method == "GET":
            self._results(handler, batch)
        elif parts[1:] == ["cancel"] and method == "POST":
            self._cancel(handler, batch)
        else:
            handler.unexpected(rec, "no such batches endpoint in the fake server")

    # -- endpoints -------------------------------------------------------------------------------

    def _create(self, handler: Answer, rec: RecordedRequest) -> None:
        body = rec.body
        requests = body.get("requests") if isinstance(body, dict) else None
        problem = _check_requests(requests)
        if problem:
            handler.unexpected(rec, f"invalid batch create body: {problem}")
            return
        assert isinstance(requests, list)
        batch = Batch(
            id=new_id("msgbatch_"),
            requests=requests,
            headers=dict(rec.headers),
            created_at=datetime.now(UTC),
        )
        with self._lock:
            self.batches[batch.id] = batch
            if self.fake.batch_polls_before_end <= 0:
                self._end(batch)
            payload = self._batch_json(batch)
        handler.send_json(200, payload)

    def _retrieve(self, handler: Answer, batch: Batch) -> None:
        with self._lock:
            batch.polls += 1
            if batch.status != "ended" and batch.polls > self.fake.batch_polls_before_end:
                self._end(batch)
            payload = self._batch_json(batch)
        handler.send_json(200, payload)

    def _list(self, handler: Answer) -> None:
        with self._lock:
            data = [self._batch_json(b) for b in reversed(self.batches.values())]
        first = data[0]["id"] if data else None
        last = data[-1]["id"] if data else None
        handler.send_json(200, {"data": data, "has_more": False, "first_id": first, "last_id": last})

    def _cancel(self, handler: Answer, batch: Batch) -> None:
        with self._lock:
            if batch.status == "in_progress":
                batch.status = "canceling"
                batch.cancel_initiated_at = datetime.now(UTC)
            payload = self._batch_json(batch)
        handler.send_json(200, payload)

    def _delete(self, handler: Answer, batch: Batch) -> None:
        with self._lock:
            if batch.status != "ended":
                handler.send_json(400, _error("invalid_request_error", "batch is still processing"))
                return
            del self.batches[batch.id]
        handler.send_json(200, {"id": batch.id, "type": "message_batch_deleted"})

    def _results(self, handler: Answer, batch: Batch) -> None:
        with self._lock:
            if batch.status != "ended":
                message = f"message batch {batch.id} has not ended; results are not available yet"
                handler.send_json(400, _error("invalid_request_error", message))
                return
            data = b"".join(json.dumps(r).encode() + b"\n" for r in batch.results)
        handler.send_bytes(200, data, "application/binary")

    # -- state -----------------------------------------------------------------------------------

    def _end(self, batch: Batch) -> None:
        """Answer every request of the batch (called with the store lock held)."""
        if batch.status == "canceling":
            batch.results = [{"custom_id": r["custom_id"], "result": {"type": "canceled"}} for r in batch.requests]
        else:
            batch.results = [self._answer(batch, r) for r in batch.requests]
        batch.status = "ended"
        batch.ended_at = datetime.now(UTC)

    def _answer(self, batch: Batch, item: dict[str, Any]) -> dict[str, Any]:
        params = item["params"]
        rec = RecordedRequest(
            method="POST",
            path="/v1/messages",
            headers=dict(batch.headers),
            body=params,
            stream=False,
            t_start=time.monotonic(),
            batch_id=batch.id,
            custom_id=item["custom_id"],
        )
        self.fake.record(rec, message=True)
        reply = self.fake.resolve(rec)
        if reply is None:
            message = f"fake server: unexpected request in batch {batch.id}: {rec.unexpected}"
            result: dict[str, Any] = {"type": "errored", "error": _error("invalid_request_error", message)}
        elif reply.drop:
            result = {"type": "errored", "error": _error("api_error", "fake server: dropped batch request")}
        elif reply.is_error:
            result = {"type": "errored", "error": reply.error_body()}
        elif reply.stream_error is not None:
            result = {"type": "errored", "error": {"type": "error", "error": reply.stream_error}}
        else:
            result = {"type": "succeeded", "message": message_json(reply, params)}
        rec.t_end = time.monotonic()
        return {"custom_id": item["custom_id"], "result": result}

    def _batch_json(self, batch: Batch) -> dict[str, Any]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if batch.status == "ended":
            for r in batch.results:
                counts[r["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        url = self.fake.url if batch.status == "ended" else None
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": counts,
            "created_at": _rfc3339(batch.created_at),
            "expires_at": _rfc3339(batch.created_at + timedelta(hours=24)),
            "ended_at": _rfc3339(batch.ended_at) if batch.ended_at else None,
            "cancel_initiated_at": _rfc3339(batch.cancel_initiated_at) if batch.cancel_initiated_at else None,
            "archived_at": None,
            "results_url": f"{url}{PREFIX}/{batch.id}/results" if url else None,
        }


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def _check_requests(requests: Any) -> str | None:
    if not isinstance(requests, list) or not requests:
        return "requests: a non-empty list is required"
    seen: set[str] = set()
    for i, item in enumerate(requests):
        if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str):
            return f"requests.{i}.custom_id: Field required"
        if item["custom_id"] in seen:
            return f"requests.{i}.custom_id: duplicate custom_id {item['custom_id']!r}"
        seen.add(item["custom_id"])
        if not isinstance(item.get("params"), dict):
            return f"requests.{i}.params: Field required"
        if item["params"].get("stream"):
            return f"requests.{i}.params.stream: streaming is not supported in batches"
    return None
