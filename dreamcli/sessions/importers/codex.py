"""Codex CLI rollouts (`~/.codex/sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl`) as dreamcli sessions.

Each line is `{"timestamp", "type", "payload"}`: `session_meta` (id, timestamp, cwd, cli_version,
source: a sub-agent names its `parent_thread_id`), `response_item` (message with input_text /
output_text parts, reasoning, function_call with JSON-string arguments, function_call_output joined by
`call_id`, custom tool calls), `event_msg` (`token_count` carries usage; the rest repeats response
items for the UI), `turn_context` (model, cwd), `compacted`. Early rollouts had no envelope: a first
line `{id, timestamp, instructions}` and response items as lines. Items and events are turned into
content and tool facts in `codex_items`; docs/importers.md lists every shape.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dreamcli.errors import InputError
from dreamcli.sessions.importers.codex_items import ITEM_TYPES, Rollout, user_origin
from dreamcli.sessions.importers.common import (
    ODD_LINE,
    ChildRef,
    Transcript,
    deterministic_ulid,
    discover_files,
    ms_to_ts,
    parse_ts_ms,
    text_of,
)
from dreamcli.sessions.importers.context import UnitContext, UnitResult
from dreamcli.sessions.importers.lines import LineCounts, LineStream, head_objects
from dreamcli.sessions.importers.units import Node, forest

SOURCE = "codex"
ENVELOPE_TYPES = frozenset({"session_meta", "response_item", "event_msg", "turn_context", "compacted",
                            "token_usage_record",  # 0.15x: per-response usage, repeated by token_count
                            "world_state"})  # 0.15x: instructions, environments, model; nothing to import


def default_path() -> Path:
    home = os.environ.get("CODEX_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".codex"
    return base / "sessions"


def discover(root: Path) -> list[Path]:
    """Every rollout `*.jsonl` under `root` (`YYYY/MM/DD/`), or `root` itself."""
    return discover_files(root)


def _is_codex_line(obj: dict[str, Any]) -> bool:
    t = obj.get("type")
    if not isinstance(t, str | None):
        return False
    if t in ENVELOPE_TYPES and "payload" in obj:
        return True
    if t in ITEM_TYPES or obj.get("record_type") is not None:
        return True
    return "id" in obj and "timestamp" in obj and "type" not in obj  # legacy first line


def _find(source: Any, key: str) -> str | None:
    """A string `key` anywhere in a session_meta `source` (`{"subagent": {"thread_spawn": {...}}}`)."""
    if isinstance(source, dict):
        for k, value in source.items():
            if k == key and isinstance(value, str):
                return value
            found = _find(value, key)
            if found:
                return found
    return None


def _user_prompt(item: dict[str, Any]) -> str | None:
    text = text_of(item.get("content"))
    return text if user_origin(text, item) is None else None


def head(stream: LineStream) -> list[dict[str, Any]]:
    """The first lines of a rollout (its session_meta, turn context and first prompt)."""
    return stream.head()


def check(path: Path, first: dict[str, Any] | None) -> None:
    """Refuse a file that is not a Codex rollout; reads past its first line only when that line is not
    a Codex line."""
    if first is None or _is_codex_line(first):
        return
    objs = head_objects(path)
    if objs and not any(_is_codex_line(o) for o in objs):
        raise InputError("not a Codex rollout (no session_meta, response_item or event_msg lines; "
                         "Codex keeps them in ~/.codex/sessions)", file=str(path), line=1)


def link_key(p: Path, first: dict[str, Any]) -> tuple[str, str | None]:
    """(thread id, parent thread id) of a rollout from its first line (its session_meta)."""
    payload = first.get("payload")
    meta = payload if first.get("type") == "session_meta" and isinstance(payload, dict) else \
        first if "id" in first and "timestamp" in first and first.get("type") is None else None
    if meta is None:
        return p.stem, None
    tid = meta.get("id")
    return (tid if isinstance(tid, str) and tid else p.stem), _find(meta.get("source"), "parent_thread_id")


def link(files: list[tuple[Path, int]], keys: dict[Path, Any]) -> list[Node]:
    """Units of the import: each rollout with the rollouts of its sub-agents (`parent_thread_id` in
    their session_meta line)."""
    threads = {p: keys.get(p) or (p.stem, None) for p, _size in files}
    by_thread = {tid: p for p, (tid, _parent) in threads.items()}
    parent_of = {p: by_thread[parent] for p, (_tid, parent) in threads.items()
                 if parent is not None and parent in by_thread}
    return forest(files, parent_of)


def read_header(path: Path, objs: list[dict[str, Any]]) -> dict[str, Any] | None:
    head: dict[str, Any] = {"id": None, "start_ms": None, "start_ts": None, "cwd": None, "model": None,
                            "prompt": None, "version": None, "parent": None, "forked_from": None,
                            "originator": None, "nickname": None, "has_items": False}
    for o in objs:
        t = o.get("type")
        if not isinstance(t, str | None):
            continue
        payload = o.get("payload") if isinstance(o.get("payload"), dict) else None
        if (t == "session_meta" and payload is not None) or ("id" in o and "timestamp" in o and t is None):
            meta = payload if payload is not None else o
            head["id"] = head["id"] or (meta.get("id") if isinstance(meta.get("id"), str) else None)
            for key, src in (("cwd", "cwd"), ("version", "cli_version"), ("originator", "originator"),
                             ("forked_from", "forked_from_id"), ("nickname", "agent_nickname")):
                if head[key] is None and isinstance(meta.get(src), str):
                    head[key] = meta[src]
            head["parent"] = head["parent"] or _find(meta.get("source"), "parent_thread_id")
            head["nickname"] = head["nickname"] or _find(meta.get("source"), "agent_nickname")
            ms = parse_ts_ms(meta.get("timestamp")) or parse_ts_ms(o.get("timestamp"))
            if ms is not None and head["start_ms"] is None:
                head["start_ms"], head["start_ts"] = ms, ms_to_ts(ms)
        elif t == "turn_context" and payload is not None:
            if head["model"] is None and isinstance(payload.get("model"), str):
                head["model"] = payload["model"]
            if head["cwd"] is None and isinstance(payload.get("cwd"), str):
                head["cwd"] = payload["cwd"]
        elif (t == "event_msg" and payload is not None and payload.get("type") == "user_message"
              and head["prompt"] is None and isinstance(payload.get("message"), str)):
            head["prompt"] = text_of(payload["message"])
        item = payload if t == "response_item" else (o if t in ITEM_TYPES and payload is None else None)
        if item is not None:
            head["has_items"] = True
            if head["start_ms"] is None:
                ms = parse_ts_ms(o.get("timestamp"))
                if ms is not None:
                    head["start_ms"], head["start_ts"] = ms, ms_to_ts(ms)
            if head["prompt"] is None and item.get("type") == "message" and item.get("role") == "user":
                head["prompt"] = _user_prompt(item)
    if not head["has_items"] and head["id"] is None:
        return None
    if head["start_ms"] is None:
        start_ms = int(path.stat().st_mtime * 1000)
        head["start_ms"], head["start_ts"] = start_ms, ms_to_ts(start_ms)
    return head


def transcript(p: Path, size: int, objs: list[dict[str, Any]], parent: Transcript | None) -> Transcript | None:
    """The transcript of a rollout from its first lines (None: nothing to import); `parent` is the
    transcript of its parent thread when that is part of the import."""
    h = read_header(p, objs)
    if h is None:
        return None
    source_id = h["id"] or p.stem
    t = Transcript(
        path=p, size=size, source_id=source_id, start_ms=h["start_ms"],
        session_id=deterministic_ulid(SOURCE, source_id, h["start_ms"]), start_ts=h["start_ts"],
        workdir=h["cwd"], model=h["model"], prompt=h["prompt"], version=h["version"],
        agent=h["nickname"], tags=["subagent"] if h["parent"] else [],
    )
    t.parent_source_id = h["parent"]
    for key, name in (("version", "codex_version"), ("originator", "originator"),
                      ("forked_from", "forked_from_id")):
        if h[key]:
            t.extra_import[name] = h[key]
    if parent is not None:
        t.parent_session_id = parent.session_id
    return t


# ---------------------------------------------------------------- conversion


def _item_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    kind, payload = obj.get("type"), obj.get("payload")
    if not isinstance(kind, str):
        return None
    if kind == "response_item" and isinstance(payload, dict):
        return payload
    if kind in ITEM_TYPES and payload is None:
        return obj  # early rollouts: items without the envelope
    return None


def _other_line(obj: dict[str, Any], r: Rollout | None, counts: LineCounts) -> None:
    """A line that is not a response item: an event, the turn context, or a line to count."""
    kind, payload = obj.get("type"), obj.get("payload")
    if kind == "event_msg" and isinstance(payload, dict):
        if r is not None:
            r.b.ts(obj.get("timestamp"))  # the session ends at its last event, not its last item
            r.event(payload, counts)
        else:
            sub = payload.get("type")
            counts.ignored[f"event_msg:{sub}"] += 1
    elif kind == "turn_context" and isinstance(payload, dict):
        if r is not None and isinstance(payload.get("model"), str):
            r.model = payload["model"]
        counts.ignored["turn_context"] += 1
    elif isinstance(kind, str) and kind in ENVELOPE_TYPES:
        counts.ignored[kind] += 1
    elif obj.get("record_type") is not None or ("id" in obj and "timestamp" in obj and kind is None):
        counts.ignored["legacy_meta"] += 1
    else:
        counts.unknown[kind if isinstance(kind, str) else "(no type)"] += 1


def count_line(obj: dict[str, Any], counts: LineCounts) -> None:
    """Count a line of a file that has nothing to import (ignored by name, or unknown)."""
    item = _item_of(obj)
    if item is not None:
        counts.ignored[f"response_item:{item.get('type')}"] += 1
    else:
        _other_line(obj, None, counts)


def convert(t: Transcript, ctx: UnitContext, result: UnitResult) -> None:
    counts = result.counts
    b = ctx.open_session(t, result)
    r = Rollout(b, t.model)
    pending = list(t.children)
    announced: list[ChildRef] = []
    for _lineno, obj in ctx.lines(t, counts):
        try:
            item = _item_of(obj)
            if item is None:
                _other_line(obj, r, counts)
                continue
            ts = b.ts(obj.get("timestamp"))
            if pending:
                ms = parse_ts_ms(ts)
                while pending and ms is not None and pending[0].start_ms <= ms:
                    ref = pending.pop(0)
                    b.subagent(ref.start_ts, ref.session_id, ref.brief)
                    announced.append(ref)
            if r.item(ts, item, counts):
                counts.imported += 1
        except ODD_LINE:  # a line of a shape no version writes (the transcript is untrusted): skipped
            counts.malformed += 1
    for ref in pending:
        b.subagent(ref.start_ts, ref.session_id, ref.brief)
        announced.append(ref)
    for ref in announced:
        b.subagent(b.last_ts, ref.session_id, None, event="finished")
    b.end(r.status())
