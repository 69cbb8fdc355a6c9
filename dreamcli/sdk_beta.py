"""The beta and otherwise volatile surfaces of the Anthropic API that dreamcli relies on, in one
place, so a change of their shapes lands here and nowhere else.

- The built-in memory tool's declaration (`memory_20250818`): on Anthropic's own API the `memory`
  tool is declared by type and the model knows its command set; dreamcli executes the commands
  itself (`dreamcli.agent.tools.memory`), never through SDK helpers.
- The Managed Agents resources (sessions and their events, memory stores and memories, dreams): the
  only calls dreamcli makes to them, for `dreamcli cloud` (see below).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dreamcli.errors import ModelError

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
# (`model_dump(mode="json")`), so nothing past this module sees an SDK type. Lists are read page by
# page (`next_page` -> `page=`) by `_paged`, which stops a listing that would never end. An answer the
# SDK cannot parse, or of another shape than these, raises UnreadableAnswer (`_reading`, `_dump`).

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


class UnreadableAnswer(Exception):
    """An answer (HTTP 200) dreamcli cannot read: not JSON (a proxy's HTML page), JSON of another shape, or
    cut off. `reason` says which in words; `subject` names what was asked for when the caller's own line
    does not (the events of one session)."""

    def __init__(self, reason: str, subject: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.subject = subject


class UnreadableItem(UnreadableAnswer):
    """A listing page read whole, one of whose items is not an object (a bare string, null, a list): that
    item's own data, not a broken page. `index` (from 1, in its page) and `kind` (`a string`, `null`, ...)
    say which; a caller reading one record's listing (a session's events) may skip that record."""

    def __init__(self, index: int, kind: str, subject: str | None = None) -> None:
        super().__init__(f"{_WRONG_PAGE}: item {index} is {kind}, not an object", subject)
        self.index = index
        self.kind = kind


def unreadable_reason(e: BaseException) -> str | None:
    """What the answer was, in words, when `e` is an answer dreamcli cannot read, else None."""
    if isinstance(e, UnreadableAnswer):
        return e.reason
    if isinstance(e, json.JSONDecodeError):
        return "cut off" if _cut_off(e) else _not_json(e.doc)
    return None


def _not_json(text: str) -> str:
    head = text.lstrip("\ufeff \t\r\n")[:512].lower()
    if not head:
        return "not JSON: an empty body"
    if head.startswith("<") and "html" in head:
        return "not JSON: HTML page"
    return "not JSON"


def _cut_off(e: json.JSONDecodeError) -> bool:
    """A JSON document that stops before its end: an object or list whose text runs out mid-way."""
    doc = e.doc.rstrip()
    if not doc.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        return False
    rest = doc[e.pos:].strip()
    return (e.msg.startswith("Unterminated string") or e.pos >= len(doc)
            or any(word.startswith(rest) and word != rest for word in ("true", "false", "null")))


_WRONG_PAGE = 'JSON without the expected fields: "data" (a list of objects)'


@contextmanager
def _reading(subject: str | None = None) -> Iterator[None]:
    """Around a call to the SDK: an answer it could not parse becomes UnreadableAnswer. The SDK raises
    JSONDecodeError on a body sent as JSON that is not, and hands back the text itself where it expected
    a page when the body was sent as something else (then the page's AttributeError names that text)."""
    try:
        yield
    except json.JSONDecodeError as e:
        raise UnreadableAnswer(unreadable_reason(e) or "not JSON", subject) from None
    except AttributeError as e:
        text = getattr(e, "obj", None)
        if not isinstance(text, str):
            raise
        raise UnreadableAnswer(_not_json(text), subject) from None


def _dump(obj: Any, *, needs: tuple[str, ...] = (), subject: str | None = None) -> dict[str, Any]:
    # warnings=False: a value the SDK's types did not expect (a newer API's enum, an odd event) is kept as
    # it came, and the importers judge it; pydantic would print a serialization warning for each
    if isinstance(obj, str):  # the SDK hands back the text of a body not sent as JSON
        raise UnreadableAnswer(_not_json(obj), subject)
    data = obj.model_dump(mode="json", warnings=False) if hasattr(obj, "model_dump") else obj
    if not isinstance(data, dict):
        raise UnreadableAnswer(f"JSON without the expected fields: {type(data).__name__}, not an object", subject)
    missing = [f'"{name}"' for name in needs if data.get(name) is None]
    if missing:
        raise UnreadableAnswer("JSON without the expected fields: " + ", ".join(missing), subject)
    return data


def _items(page: Any, subject: str | None) -> list[dict[str, Any]]:
    """A page's items (`data`); a page without a list of objects there is UnreadableAnswer."""
    if isinstance(page, str):
        raise UnreadableAnswer(_not_json(page), subject)
    data = getattr(page, "data", None)
    if not isinstance(data, list):
        raise UnreadableAnswer(_WRONG_PAGE, subject)
    for n, x in enumerate(data, 1):
        if not (hasattr(x, "model_dump") or isinstance(x, dict)):
            raise UnreadableItem(n, _json_kind(x), subject)
    return [_dump(x, subject=subject) for x in data]


def _json_kind(value: Any) -> str:
    """What a JSON value that is not an object is, in words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    kinds = ((str, "a string"), (int | float, "a number"), (list | tuple, "a list"))
    return next((name for kind, name in kinds if isinstance(value, kind)), f"a {type(value).__name__}")


def _given(**kwargs: Any) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


class ListingError(ModelError):
    """A listing the API never ends (a cursor repeated, a page of ids already seen): exit 3."""


class ListingTooLong(ListingError):
    """A listing longer than dreamcli reads (`cap`)."""

    def __init__(self, message: str, cap: int) -> None:
        super().__init__(message)
        self.cap = cap


MAX_SESSIONS_LISTED = 100_000  # without --limit: more sessions in one listing is an API that never ends
MAX_EVENTS_PER_SESSION = 100_000  # a session with more is skipped (warned), never read into memory whole
MAX_MEMORIES = 100_000  # a memory store with more is refused: its mirror would be incomplete
MAX_EMPTY_PAGES = 10  # empty pages in a row that still name a next page


def _paged(first: Any, what: str, *, cap: int, max_items: int | None = None,
           subject: str | None = None) -> Iterator[dict[str, Any]]:
    """The items of a cursor-paged listing, each id once, read page by page (not the SDK's auto-pagination,
    which follows any cursor for ever). Stops after `max_items` items without asking for another page;
    raises ListingError on a repeated cursor, a page whose ids were all seen before, or too many empty
    pages, ListingTooLong past `cap` items, and UnreadableAnswer on a page that is not one."""
    page, cursors, seen, count, empty = first, set(), set(), 0, 0
    while True:
        items = _items(page, subject)
        fresh = 0
        for item in items:
            key = item.get("id")
            if isinstance(key, str):
                if key in seen:
                    continue
                seen.add(key)
            fresh += 1
            if count >= cap:
                raise ListingTooLong(f"{what}: more than {cap:,} items listed; stopped there", cap)
            count += 1
            yield item
            if max_items is not None and count >= max_items:
                return
        cursor = getattr(page, "next_page", None)
        if not cursor:
            return
        if items and not fresh:
            raise ListingError(f"{what}: the API listed a page of items already listed (cursor {cursor!r}); "
                               "stopped: the listing would never end")
        empty = 0 if items else empty + 1
        if str(cursor) in cursors or empty > MAX_EMPTY_PAGES:
            raise ListingError(f"{what}: the API repeated page cursor {str(cursor)[:80]!r}; stopped: the "
                               "listing would never end")
        cursors.add(str(cursor))
        with _reading(subject):
            page = page.get_next_page()


def iter_sessions(client: Any, *, agent_id: str | None = None, created_at_gte: str | None = None,
                  memory_store_id: str | None = None, order: str = "desc", page_size: int = 100,
                  max_items: int | None = None) -> Iterator[dict[str, Any]]:
    """Sessions (`BetaManagedAgentsSession`), newest first by default, page after page, each id once; at
    most `max_items` (no page asked for past them), else at most MAX_SESSIONS_LISTED (ListingTooLong)."""
    size = min(page_size, max_items) if max_items else page_size
    with _reading():
        pages = client.beta.sessions.list(**_given(agent_id=agent_id, created_at_gte=created_at_gte,
                                                   memory_store_id=memory_store_id, order=order, limit=size))
    yield from _paged(pages, "list sessions", cap=MAX_SESSIONS_LISTED, max_items=max_items)


def iter_session_events(client: Any, session_id: str, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
    """A session's events (`BetaManagedAgentsSessionEvent`), oldest first, page after page, each id once;
    more than MAX_EVENTS_PER_SESSION raise ListingTooLong."""
    subject = f"the events of session {session_id}"
    with _reading(subject):
        pages = client.beta.sessions.events.list(session_id, order="asc", limit=page_size)
    yield from _paged(pages, f"list the events of session {session_id}", cap=MAX_EVENTS_PER_SESSION,
                      subject=subject)


def retrieve_memory_store(client: Any, store_id: str) -> dict[str, Any]:
    with _reading():
        return _dump(client.beta.memory_stores.retrieve(store_id), needs=("id",))


def iter_memories(client: Any, store_id: str, *, full: bool = True,
                  path_prefix: str | None = None) -> Iterator[dict[str, Any]]:
    """Every memory of a store (`BetaManagedAgentsMemory`), or only those below `path_prefix` (ending in
    `/`; the API matches whole segments), with `content` when `full` (the API then gives at most 20 a
    page), each id once. `memory_prefix` items (only listed with `depth`) are skipped; more than
    MAX_MEMORIES raise ListingTooLong."""
    kwargs: dict[str, Any] = {"view": "full", "limit": 20} if full else {"view": "basic", "limit": 100}
    with _reading():
        pages = client.beta.memory_stores.memories.list(store_id, **kwargs, **_given(path_prefix=path_prefix))
    for data in _paged(pages, f"list the memories of store {store_id}", cap=MAX_MEMORIES):
        if data.get("type") == "memory":
            yield data


def _once(client: Any) -> Any:
    """The client without retries: for conditional writes (a 409 is an answer, not a hiccup), and for a
    dream create (sent again blind after an answer that was lost, it would start and bill a second dream)."""
    return client.with_options(max_retries=0)


def retrieve_memory(client: Any, store_id: str, memory_id: str) -> dict[str, Any]:
    with _reading():
        return _dump(client.beta.memory_stores.memories.retrieve(memory_id, memory_store_id=store_id, view="full"))


def create_memory(client: Any, store_id: str, path: str, content: str) -> dict[str, Any]:
    with _reading():
        return _dump(client.beta.memory_stores.memories.create(store_id, path=path, content=content))


def update_memory(client: Any, store_id: str, memory_id: str, content: str, expected_sha256: str) -> dict[str, Any]:
    """Replace a memory's content only if the cloud still holds `expected_sha256` (else HTTP 409)."""
    precondition = {"type": "content_sha256", "content_sha256": expected_sha256}
    with _reading():
        return _dump(_once(client).beta.memory_stores.memories.update(
            memory_id, memory_store_id=store_id, content=content, precondition=precondition))


def delete_memory(client: Any, store_id: str, memory_id: str, expected_sha256: str) -> dict[str, Any]:
    """Delete a memory only if the cloud still holds `expected_sha256` (else HTTP 409)."""
    with _reading():
        return _dump(_once(client).beta.memory_stores.memories.delete(
            memory_id, memory_store_id=store_id, expected_content_sha256=expected_sha256))


def create_dream(client: Any, *, store_id: str, session_ids: list[str], model: str,
                 instructions: str | None = None) -> dict[str, Any]:
    """Start a dream over one memory store and 1-100 sessions, writing a new store (`create_new`). One
    request, never the SDK's retries: whether to send it again is the caller's (`cloud.dream_create`)."""
    if not 1 <= len(session_ids) <= MAX_SESSIONS_PER_DREAM:
        raise ValueError(f"a dream takes 1 to {MAX_SESSIONS_PER_DREAM} sessions, not {len(session_ids)}")
    inputs = [{"type": "memory_store", "memory_store_id": store_id},
              {"type": "sessions", "session_ids": list(session_ids)}]
    with _reading():
        return _dump(_once(client).beta.dreams.create(inputs=inputs, model=model, output_behavior=CREATE_NEW,
                                                      **_given(instructions=instructions)))


def retrieve_dream(client: Any, dream_id: str) -> dict[str, Any]:
    with _reading():
        return _dump(client.beta.dreams.retrieve(dream_id))


def first_dreams(client: Any, *, limit: int = 1) -> list[dict[str, Any]]:
    """The first page of the workspace's dreams (`GET /v1/dreams`, newest first, at most `limit`): one listing
    request, no page after it; UnreadableAnswer when the answer is not a page of dreams."""
    with _reading("the list of dreams"):
        page = client.beta.dreams.list(limit=limit)
    return _items(page, "the list of dreams")


def cancel_dream(client: Any, dream_id: str, *, once: bool = False) -> dict[str, Any]:
    """Cancel a dream; `once`: one request, no retries (a best-effort cancel)."""
    with _reading():
        return _dump((_once(client) if once else client).beta.dreams.cancel(dream_id))
