"""The beta and otherwise volatile surfaces of the Anthropic API that dreamcli relies on, in one
place, so a change of their shapes lands here and nowhere else.

- The built-in memory tool's declaration (`memory_20250818`): on Anthropic's own API the `memory`
  tool is declared by type and the model knows its command set; dreamcli executes the commands
  itself (`dreamcli.agent.tools.memory`), never through SDK helpers.
- The Managed Agents resources (sessions and their events, memory stores and memories, dreams): the
  only calls dreamcli makes to them, for `dreamcli cloud` (see below).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MEMORY_TOOL_TYPE = "memory_20250818"


def memory_tool_param() -> dict[str, Any]:
    """The request's `tools` entry for the built-in memory tool."""
    return {"type": MEMORY_TOOL_TYPE, "name": "memory"}


# --- Managed Agents (public beta resources of the SDK) ------------------------------------------
#
# Every call dreamcli makes to `client.beta.sessions` (+ `.events`), `client.beta.memory_stores`
# (+ `.memories`) and `client.beta.dreams` is below, and nowhere else. The request and response
# shapes follow anthropic 2.17.0 (`anthropic/resources/beta/{sessions,memory_stores,dreams}`,
# `anthropic/types/beta/`); the SDK sends the beta headers (`managed-agents-2026-04-01`,
# `agent-memory-2026-07-22`, `dreaming-2026-04-21`) itself. Results are plain dicts
# (`model_dump(mode="json")`), so nothing past this module sees an SDK type. Lists are iterated
# with the SDK's own cursor pagination (`next_page` -> `page=`).

# The lowest anthropic known to have every resource and parameter used here: 2.5.0 (the lowest declared;
# tests/cloud pass on it and on 2.17.0). Older SDKs are refused by `managed_agents_missing`, not at import.
MANAGED_AGENTS_MIN_SDK = "2.5.0"
MANAGED_AGENTS_RESOURCES = (
    ("sessions", "events"),
    ("memory_stores", "memories"),
    ("dreams",),
)
CREATE_NEW = {"type": "create_new"}  # a cloud dream always writes a new store, never update_existing
MAX_SESSIONS_PER_DREAM = 100  # BetaDreamSessionsInputParam.session_ids: 1 to 100 ids


def managed_agents_missing(client: Any) -> str | None:
    """The first Managed Agents resource the installed SDK lacks (e.g. `beta.dreams`), or None."""
    beta = getattr(client, "beta", None)
    for chain in MANAGED_AGENTS_RESOURCES:
        obj = beta
        name = "beta"
        for attr in chain:
            name += "." + attr
            if obj is None or not hasattr(obj, attr):
                return name
            obj = getattr(obj, attr)
    return None


def _dump(obj: Any) -> dict[str, Any]:
    # warnings=False: a value the SDK's types did not expect (a newer API's enum, an odd event) is kept as
    # it came, and the importers judge it; pydantic would print a serialization warning for each
    data = obj.model_dump(mode="json", warnings=False) if hasattr(obj, "model_dump") else dict(obj)
    return data if isinstance(data, dict) else {}


def _given(**kwargs: Any) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


def iter_sessions(client: Any, *, agent_id: str | None = None, created_at_gte: str | None = None,
                  memory_store_id: str | None = None, order: str = "desc",
                  page_size: int = 100) -> Iterator[dict[str, Any]]:
    """Sessions (`BetaManagedAgentsSession`), newest first by default, page after page."""
    pages = client.beta.sessions.list(**_given(agent_id=agent_id, created_at_gte=created_at_gte,
                                               memory_store_id=memory_store_id, order=order,
                                               limit=page_size))
    for session in pages:
        yield _dump(session)


def iter_session_events(client: Any, session_id: str, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
    """A session's events (`BetaManagedAgentsSessionEvent`), oldest first, page after page."""
    for event in client.beta.sessions.events.list(session_id, order="asc", limit=page_size):
        yield _dump(event)


def retrieve_memory_store(client: Any, store_id: str) -> dict[str, Any]:
    return _dump(client.beta.memory_stores.retrieve(store_id))


def iter_memories(client: Any, store_id: str, *, full: bool = True) -> Iterator[dict[str, Any]]:
    """Every memory of a store (`BetaManagedAgentsMemory`), with `content` when `full` (the API then
    gives at most 20 a page). `memory_prefix` items (only listed with `depth`) are skipped."""
    kwargs: dict[str, Any] = {"view": "full", "limit": 20} if full else {"view": "basic", "limit": 100}
    for item in client.beta.memory_stores.memories.list(store_id, **kwargs):
        data = _dump(item)
        if data.get("type") == "memory":
            yield data


def _once(client: Any) -> Any:
    """The client without retries, for conditional writes: a 409 is an answer, not a hiccup."""
    return client.with_options(max_retries=0)


def retrieve_memory(client: Any, store_id: str, memory_id: str) -> dict[str, Any]:
    return _dump(client.beta.memory_stores.memories.retrieve(memory_id, memory_store_id=store_id, view="full"))


def create_memory(client: Any, store_id: str, path: str, content: str) -> dict[str, Any]:
    return _dump(client.beta.memory_stores.memories.create(store_id, path=path, content=content))


def update_memory(client: Any, store_id: str, memory_id: str, content: str, expected_sha256: str) -> dict[str, Any]:
    """Replace a memory's content only if the cloud still holds `expected_sha256` (else HTTP 409)."""
    precondition = {"type": "content_sha256", "content_sha256": expected_sha256}
    return _dump(_once(client).beta.memory_stores.memories.update(
        memory_id, memory_store_id=store_id, content=content, precondition=precondition))


def delete_memory(client: Any, store_id: str, memory_id: str, expected_sha256: str) -> dict[str, Any]:
    """Delete a memory only if the cloud still holds `expected_sha256` (else HTTP 409)."""
    return _dump(_once(client).beta.memory_stores.memories.delete(
        memory_id, memory_store_id=store_id, expected_content_sha256=expected_sha256))


def create_dream(client: Any, *, store_id: str, session_ids: list[str], model: str,
                 instructions: str | None = None) -> dict[str, Any]:
    """Start a dream over one memory store and 1-100 sessions, writing a new store (`create_new`)."""
    if not 1 <= len(session_ids) <= MAX_SESSIONS_PER_DREAM:
        raise ValueError(f"a dream takes 1 to {MAX_SESSIONS_PER_DREAM} sessions, not {len(session_ids)}")
    inputs = [{"type": "memory_store", "memory_store_id": store_id},
              {"type": "sessions", "session_ids": list(session_ids)}]
    return _dump(client.beta.dreams.create(inputs=inputs, model=model, output_behavior=CREATE_NEW,
                                           **_given(instructions=instructions)))


def retrieve_dream(client: Any, dream_id: str) -> dict[str, Any]:
    return _dump(client.beta.dreams.retrieve(dream_id))


def cancel_dream(client: Any, dream_id: str) -> dict[str, Any]:
    return _dump(client.beta.dreams.cancel(dream_id))
