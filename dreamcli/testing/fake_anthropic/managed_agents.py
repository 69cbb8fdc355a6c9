"""The Managed Agents endpoints of the fake server (sessions + events, memory stores + memories,
dreams), as anthropic 2.17.0's beta resources call them: cursor pages (`limit`, `page` ->
`next_page`), content-hash preconditions answered 409, dream statuses pending -> running ->
completed / failed, `create_new` outputs, the dreams listing (`GET /v1/dreams`, newest first, as
documented). A request the real API would refuse (missing beta header,
a dream with `update_existing` or more than 100 sessions, an unknown route) is flagged, failing the
test. State and seeding helpers live in `managed_data.ManagedData` (`server.managed.data`)."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs

from dreamcli.testing.fake_anthropic.managed_data import ManagedData
from dreamcli.testing.fake_anthropic.ports import Answer
from dreamcli.testing.fake_anthropic.recorded import RecordedRequest

PREFIXES = ("/v1/sessions", "/v1/memory_stores", "/v1/dreams")
BETAS = {"sessions": ("managed-agents-2026-04-01",),
         "memory_stores": ("agent-memory-2026-07-22", "managed-agents-2026-04-01"),
         "dreams": ("dreaming-2026-04-21",)}


def handles(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PREFIXES)


def _error(status: int, kind: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"type": "error", "error": {"type": kind, "message": message}}


class ManagedAgentsRoutes:
    def __init__(self) -> None:
        self.data = ManagedData()
        self._lock = threading.Lock()

    def handle(self, handler: Answer, rec: RecordedRequest) -> None:
        parts = rec.path.strip("/").split("/")[1:]  # drop "v1"
        query = {k: v[-1] for k, v in parse_qs(rec.query).items()}
        betas = rec.headers.get("anthropic-beta", "")
        if not any(b in betas for b in BETAS[parts[0]]):
            handler.unexpected(rec, f"missing anthropic-beta {BETAS[parts[0]][0]} (got {betas!r})")
            return
        if self.data.beta_disabled:
            status, body = _error(403, "permission_error", "Managed Agents beta is not enabled for this organization")
            handler.send_json(status, body)
            return
        with self._lock:
            answer = self._route(rec, parts, query)
        if answer is None:
            handler.unexpected(rec, "no such Managed Agents endpoint in the fake server")
            return
        if isinstance(answer, str):
            handler.unexpected(rec, answer)
            return
        handler.send_json(*answer)

    def _route(self, rec: RecordedRequest, parts: list[str], q: dict[str, str]) -> Any:
        m, d = rec.method, self.data
        body = rec.body if isinstance(rec.body, dict) else {}
        if parts == ["sessions"] and m == "GET":
            return self._sessions(q)
        if len(parts) == 3 and parts[0] == "sessions" and parts[2] == "events" and m == "GET":
            if parts[1] not in d.sessions:
                return _error(404, "not_found_error", f"session {parts[1]} not found")
            events = d.events[parts[1]]
            return self._page(events if q.get("order", "asc") == "asc" else events[::-1], q, bidirectional=False)
        if parts[0] == "memory_stores" and len(parts) >= 2:
            if parts[1] not in d.stores:
                return _error(404, "not_found_error", f"memory store {parts[1]} not found")
            return self._memory_route(m, parts[1], parts[2:], q, body)
        if parts[0] == "dreams":
            return self._dream_route(m, parts[1:], q, body)
        return None

    # -- sessions --------------------------------------------------------------------------------

    def _sessions(self, q: dict[str, str]) -> Any:
        d = self.data
        rows = list(d.sessions.values())
        if "agent_id" in q:
            rows = [s for s in rows if s["agent"]["id"] == q["agent_id"]]
        if "memory_store_id" in q:
            rows = [s for s in rows if q["memory_store_id"] in d.session_stores[s["id"]]]
        if "created_at[gte]" in q:
            rows = [s for s in rows if s["created_at"] >= q["created_at[gte]"].replace("+00:00", "Z")]
        rows.sort(key=lambda s: s["created_at"], reverse=q.get("order", "desc") == "desc")
        return self._page(rows, q, bidirectional=True)

    def _page(self, rows: list[dict[str, Any]], q: dict[str, str], *, bidirectional: bool, cap: int = 100) -> Any:
        limit = min(int(q.get("limit") or 20), cap, self.data.max_page or cap)
        if limit < 1:
            return _error(400, "invalid_request_error", "limit: must be between 1 and 100")
        start = int(q["page"].removeprefix("cur_")) if q.get("page") else 0
        end = start + limit
        payload: dict[str, Any] = {"data": rows[start:end], "next_page": f"cur_{end}" if end < len(rows) else None}
        if bidirectional:
            payload["prev_page"] = f"cur_{max(0, start - limit)}" if start else None
        return 200, payload

    # -- memory stores ---------------------------------------------------------------------------

    def _memory_route(self, m: str, store_id: str, rest: list[str], q: dict[str, str], body: dict[str, Any]) -> Any:
        d = self.data
        if not rest and m == "GET":
            return 200, d.stores[store_id]
        if rest != ["memories"] and not (len(rest) == 2 and rest[0] == "memories"):
            return None
        full = q.get("view") == "full"
        if len(rest) == 1:
            if m == "GET":
                prefix = q.get("path_prefix") or "/"
                rows = sorted((x for x in d.memories[store_id].values() if x["path"].startswith(prefix)),
                              key=lambda x: x["path"])
                return self._page([d.memory_json(x, full=full) for x in rows], q, bidirectional=False,
                                  cap=20 if full else 100)
            if m == "POST":
                if not isinstance(body.get("path"), str) or not isinstance(body.get("content"), str):
                    return "memory create needs path and content"
                if body["path"] in d.fail_writes:
                    return _error(500, "api_error", "fake server: failing write")
                if d.find_memory(store_id, body["path"]) is not None:
                    return _error(409, "invalid_request_error", f"a memory already exists at {body['path']}")
                return 200, d.memory_json(d.write_memory(store_id, body["path"], body["content"]), full=full)
            return None
        mem = d.memories[store_id].get(rest[1])
        if mem is None:
            return _error(404, "not_found_error", f"memory {rest[1]} not found")
        if m == "GET":
            return 200, d.memory_json(mem, full=q.get("view", "full") == "full")
        if m == "POST":
            if mem["path"] in d.fail_writes:
                return _error(500, "api_error", "fake server: failing write")
            pre = body.get("precondition")
            if pre is not None:
                if not isinstance(pre, dict) or pre.get("type") != "content_sha256":
                    return f"precondition must be {{type: content_sha256, ...}}, got {pre!r}"
                if pre.get("content_sha256") != mem["content_sha256"]:
                    return _error(409, "invalid_request_error", "precondition failed: content_sha256 does not match")
            content = body.get("content", mem["content"])
            updated = d.write_memory(store_id, body.get("path") or mem["path"], content, memory_id=mem["id"])
            return 200, d.memory_json(updated, full=full)
        if m == "DELETE":
            expected = q.get("expected_content_sha256")
            if expected is not None and expected != mem["content_sha256"]:
                return _error(409, "invalid_request_error", "precondition failed: content_sha256 does not match")
            d.delete_memory(store_id, mem["id"])
            return 200, {"id": mem["id"], "type": "memory_deleted"}
        return None

    # -- dreams ----------------------------------------------------------------------------------

    def _dream_route(self, m: str, rest: list[str], q: dict[str, str], body: dict[str, Any]) -> Any:
        d = self.data
        if not rest and m == "POST":
            problem = self._check_dream(body)
            return problem or (200, dict(d.new_dream(body).body))
        if not rest and m == "GET":  # the documented listing: a cursor page, newest first
            rows = sorted((dict(x.body) for x in d.dreams.values()), key=lambda b: b["created_at"], reverse=True)
            return self._page(rows, q, bidirectional=False)
        dream = d.dreams.get(rest[0]) if rest else None
        if dream is None:
            return _error(404, "not_found_error", f"dream {rest[0] if rest else ''} not found")
        if len(rest) == 1 and m == "GET":
            d.advance(dream)
            return 200, dict(dream.body)
        if rest[1:] == ["cancel"] and m == "POST":
            if dream.body["status"] in ("pending", "running"):
                dream.body["status"] = "canceled"
                dream.canceled = True
            return 200, dict(dream.body)
        return None

    def _check_dream(self, body: dict[str, Any]) -> str | tuple[int, dict[str, Any]] | None:
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or sorted(str(i.get("type")) for i in inputs) != ["memory_store", "sessions"]:
            return "dream inputs must be exactly one memory_store and one sessions entry"
        if not body.get("model"):
            return "dream create needs a model"
        if (body.get("output_behavior") or {}).get("type") != "create_new":
            return f"dreamcli must ask for output_behavior create_new, got {body.get('output_behavior')!r}"
        ids = next(i.get("session_ids") for i in inputs if i.get("type") == "sessions")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100 or len(set(ids)) != len(ids):
            return "session_ids: give 1 to 100 ids, with no duplicates"
        store = next(i.get("memory_store_id") for i in inputs if i.get("type") == "memory_store")
        if store not in self.data.stores:
            return _error(404, "not_found_error", f"memory store {store} not found")
        return None
