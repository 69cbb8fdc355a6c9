"""The state behind the fake Managed Agents endpoints (`managed_agents`): sessions and their events,
memory stores and memories (with content hashes and version ids), and dreams with their scripted
lifecycle. Shapes follow anthropic 2.17.0's `types/beta` (BetaManagedAgentsSession, ...Memory,
...MemoryStore, BetaDream). Tests seed it through `FakeAnthropic.managed`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dreamcli.testing.fake_anthropic.replies import new_id

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class DreamScript:
    """How the next dream behaves: `pending_polls` retrieves pending, `running_polls` running, then
    `final` ("completed" or "failed"). On completion `writes` (path -> content, None deletes) are
    applied to the output store, a copy of the input store."""

    final: str = "completed"
    pending_polls: int = 1
    running_polls: int = 1
    writes: dict[str, str | None] = field(default_factory=dict)
    error: dict[str, str] = field(default_factory=lambda: {"type": "timeout", "message": "the dream ran out of time"})


@dataclass
class FakeDream:
    body: dict[str, Any]
    script: DreamScript
    polls: int = 0
    canceled: bool = False


class ManagedData:
    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.session_stores: dict[str, list[str]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.stores: dict[str, dict[str, Any]] = {}
        self.memories: dict[str, dict[str, dict[str, Any]]] = {}  # store id -> memory id -> memory
        self.dreams: dict[str, FakeDream] = {}
        self.dream_scripts: list[DreamScript] = []
        self.beta_disabled = False  # answer every Managed Agents request 403 "beta not enabled"
        self.max_page: int | None = None  # cap page sizes, to exercise cursors with little data
        self.fail_writes: set[str] = set()  # memory paths whose create/update answers 500 (a failing API)
        self._clock = EPOCH

    def tick(self) -> datetime:
        self._clock += timedelta(seconds=1)
        return self._clock

    # -- seeding ---------------------------------------------------------------------------------

    def add_store(self, name: str = "team memory", memories: dict[str, str] | None = None) -> str:
        store_id = new_id("memstore_")
        now = rfc3339(self.tick())
        self.stores[store_id] = {"id": store_id, "type": "memory_store", "name": name, "description": "",
                                 "metadata": {}, "created_at": now, "updated_at": now, "archived_at": None}
        self.memories[store_id] = {}
        for path, content in (memories or {}).items():
            self.write_memory(store_id, path, content)
        return store_id

    def add_session(self, *, events: list[dict[str, Any]] | None = None, status: str = "idle",
                    agent_id: str = "agent_01fake", store_ids: list[str] | None = None,
                    title: str | None = None) -> str:
        sid = new_id("sesn_")
        created = self.tick()
        self.sessions[sid] = {
            "id": sid, "type": "session", "status": status, "title": title, "created_at": rfc3339(created),
            "updated_at": rfc3339(created), "archived_at": None, "environment_id": "env_01fake", "metadata": {},
            "outcome_evaluations": [], "resources": [], "vault_ids": [], "stats": {"active_seconds": 1.0},
            "usage": {"input_tokens": 0, "output_tokens": 0},
            "agent": {"id": agent_id, "type": "agent", "name": "support-bot", "version": 1, "description": None,
                      "model": {"id": "claude-sonnet-5-5"}, "system": None, "tools": [], "skills": [],
                      "mcp_servers": [],
                      "execution_identity": {"type": "service_account"}},
        }
        self.session_stores[sid] = list(store_ids or [])
        evs = []
        for n, ev in enumerate(events or []):
            ev = dict(ev)
            ev.setdefault("id", new_id("sevt_"))
            ev.setdefault("processed_at", rfc3339(created + timedelta(milliseconds=10 * (n + 1))))
            evs.append(ev)
        self.events[sid] = evs
        return sid

    def script_dream(self, **kwargs: Any) -> DreamScript:
        script = DreamScript(**kwargs)
        self.dream_scripts.append(script)
        return script

    # -- memories --------------------------------------------------------------------------------

    def find_memory(self, store_id: str, path: str) -> dict[str, Any] | None:
        return next((m for m in self.memories[store_id].values() if m["path"] == path), None)

    def write_memory(self, store_id: str, path: str, content: str, memory_id: str | None = None) -> dict[str, Any]:
        """Create or replace (a concurrent change, when a test calls it between pull and push)."""
        existing = self.memories[store_id].get(memory_id or "") or self.find_memory(store_id, path)
        now = rfc3339(self.tick())
        mem = existing or {"id": new_id("mem_"), "type": "memory", "memory_store_id": store_id, "created_at": now}
        mem.update(path=path, content=content, content_sha256=sha256(content),
                   content_size_bytes=len(content.encode("utf-8")), memory_version_id=new_id("memver_"),
                   updated_at=now)
        self.memories[store_id][mem["id"]] = mem
        return mem

    def delete_memory(self, store_id: str, memory_id: str) -> None:
        self.memories[store_id].pop(memory_id, None)

    def memory_json(self, mem: dict[str, Any], *, full: bool) -> dict[str, Any]:
        return {**mem, "content": mem["content"] if full else None}

    # -- dreams ----------------------------------------------------------------------------------

    def new_dream(self, body: dict[str, Any]) -> FakeDream:
        script = self.dream_scripts.pop(0) if self.dream_scripts else DreamScript()
        model = body["model"] if isinstance(body["model"], dict) else {"id": body["model"], "speed": "standard"}
        did = new_id("drm_")
        dream = FakeDream({
            "id": did, "type": "dream", "status": "pending", "created_at": rfc3339(self.tick()), "ended_at": None,
            "archived_at": None, "error": None, "inputs": body["inputs"], "instructions": body.get("instructions"),
            "model": model, "output_behavior": body.get("output_behavior") or {"type": "create_new"},
            "outputs": [], "session_id": None,
            "usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0,
                      "cache_creation_input_tokens": 0},
        }, script)
        self.dreams[did] = dream
        return dream

    def advance(self, dream: FakeDream) -> None:
        """One retrieve: pending -> running (output store appears) -> completed / failed."""
        body = dream.body
        if body["status"] in ("completed", "failed", "canceled"):
            return
        dream.polls += 1
        s = dream.script
        if dream.polls > s.pending_polls and body["status"] == "pending":
            body["status"] = "running"
            body["session_id"] = new_id("sesn_")
            source = next(i["memory_store_id"] for i in body["inputs"] if i["type"] == "memory_store")
            out = self.add_store(f"dream {body['id']}")
            for mem in self.memories[source].values():
                self.write_memory(out, mem["path"], mem["content"])
            body["outputs"] = [{"type": "memory_store", "memory_store_id": out}]
            body["usage"] = {**body["usage"], "input_tokens": 1200, "output_tokens": 300}
        if dream.polls > s.pending_polls + s.running_polls and body["status"] == "running":
            out = body["outputs"][0]["memory_store_id"]
            if s.final == "completed":
                for path, content in s.writes.items():
                    if content is None:
                        gone = self.find_memory(out, path)
                        if gone:
                            self.delete_memory(out, gone["id"])
                    else:
                        self.write_memory(out, path, content)
            else:
                body["error"] = dict(s.error)
            body["status"] = s.final
            body["ended_at"] = rfc3339(self.tick())
