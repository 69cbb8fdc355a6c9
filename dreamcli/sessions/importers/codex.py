"""Codex CLI rollouts (`~/.codex/sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl`) as dreamcli sessions.

Each line is `{"timestamp", "type", "payload"}`: `session_meta` (id, timestamp, cwd, cli_version,
source: a sub-agent names its `parent_thread_id`), `response_item` (message with input_text /
output_text parts, reasoning, function_call with JSON-string arguments, function_call_output joined by
`call_id`, custom tool calls), `event_msg` (`token_count` carries usage; the rest repeats response
items for the UI), `turn_context` (model, cwd), `compacted`. Early rollouts had no envelope: a first
line `{id, timestamp, instructions}` and response items as lines.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dreamcli.errors import InputError
from dreamcli.sessions.importers.builder import SessionBuilder
from dreamcli.sessions.importers.common import (
    ChildRef,
    Transcript,
    deterministic_ulid,
    discover_files,
    head_objects,
    iter_json_lines,
    ms_to_ts,
    parse_ts_ms,
    text_of,
)
from dreamcli.sessions.importers.context import UnitContext, UnitResult

SOURCE = "codex"
ENVELOPE_TYPES = frozenset({"session_meta", "response_item", "event_msg", "turn_context", "compacted"})
ITEM_TYPES = frozenset({"message", "reasoning", "function_call", "function_call_output", "custom_tool_call",
                        "custom_tool_call_output", "local_shell_call", "web_search_call", "tool_search_call",
                        "tool_search_output", "image_generation_call", "compaction", "compaction_summary",
                        "ghost_snapshot"})
ASSISTANT_ITEMS = frozenset({"reasoning", "function_call", "custom_tool_call", "local_shell_call"})
OUTPUT_ITEMS = frozenset({"function_call_output", "custom_tool_call_output"})
_INJECTED_PREFIXES = ("<environment_context>", "<user_instructions>", "# AGENTS.md", "<permissions",
                      "<INSTRUCTIONS>")


def default_path() -> Path:
    home = os.environ.get("CODEX_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".codex"
    return base / "sessions"


def discover(root: Path) -> list[Path]:
    """Every rollout `*.jsonl` under `root` (`YYYY/MM/DD/`), or `root` itself."""
    return discover_files(root)


def _is_codex_line(obj: dict[str, Any]) -> bool:
    t = obj.get("type")
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
    if text is None or text.lstrip().startswith(_INJECTED_PREFIXES):
        return None
    return text


def read_header(path: Path) -> dict[str, Any] | None:
    objs = head_objects(path)
    if objs and not any(_is_codex_line(o) for o in objs):
        raise InputError("not a Codex rollout (no session_meta, response_item or event_msg lines; "
                         "Codex keeps them in ~/.codex/sessions)", file=str(path), line=1)
    head: dict[str, Any] = {"id": None, "start_ms": None, "start_ts": None, "cwd": None, "model": None,
                            "prompt": None, "version": None, "parent": None, "forked_from": None,
                            "originator": None, "nickname": None, "has_items": False}
    for o in objs:
        t = o.get("type")
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


def plan(files: list[Path]) -> list[Transcript]:
    out: list[Transcript] = []
    by_thread: dict[str, Transcript] = {}
    for p in files:
        h = read_header(p)
        if h is None:
            continue
        source_id = h["id"] or p.stem
        t = Transcript(
            path=p, size=p.stat().st_size, source_id=source_id, start_ms=h["start_ms"],
            session_id=deterministic_ulid(SOURCE, source_id, h["start_ms"]), start_ts=h["start_ts"],
            workdir=h["cwd"], model=h["model"], prompt=h["prompt"], version=h["version"],
            agent=h["nickname"], tags=["subagent"] if h["parent"] else [],
        )
        t.parent_source_id = h["parent"]
        for key, name in (("version", "codex_version"), ("originator", "originator"),
                          ("forked_from", "forked_from_id")):
            if h[key]:
                t.extra_import[name] = h[key]
        out.append(t)
        by_thread[source_id] = t
    for t in out:
        parent = by_thread.get(t.parent_source_id or "")
        if parent is not None:
            t.parent_session_id = parent.session_id
            parent.children.append(ChildRef(t.session_id, t.start_ms, t.start_ts, t.prompt))
    for t in out:
        t.children.sort(key=lambda c: c.start_ms)
    return out


# ---------------------------------------------------------------- items to content blocks


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
            blocks.append({"type": "text", "text": part["text"]})
        elif kind == "input_image":
            blocks.append({"type": "text", "text": "[image]"})
    return blocks


def _tool_use(item: dict[str, Any]) -> dict[str, Any] | None:
    kind = item.get("type")
    call_id = item.get("call_id") or item.get("id")
    if not isinstance(call_id, str):
        return None
    if kind == "function_call":
        args = item.get("arguments")
        try:
            parsed = json.loads(args) if isinstance(args, str) else args
        except ValueError:
            parsed = None
        inp = parsed if isinstance(parsed, dict) else {"arguments": args}
        return {"type": "tool_use", "id": call_id, "name": str(item.get("name") or "function"), "input": inp}
    if kind == "custom_tool_call":
        return {"type": "tool_use", "id": call_id, "name": str(item.get("name") or "custom"),
                "input": {"input": item.get("input")}}
    if kind == "local_shell_call":
        action = item.get("action")
        return {"type": "tool_use", "id": call_id, "name": "local_shell",
                "input": action if isinstance(action, dict) else {"action": action}}
    return None


def _tool_result(item: dict[str, Any]) -> dict[str, Any] | None:
    """A tool_result block from a function_call_output: the output text and whether it failed (an
    explicit `success: false`, or a non-zero exit code in the output)."""
    call_id = item.get("call_id")
    if not isinstance(call_id, str):
        return None
    out = item.get("output")
    failed = False
    if isinstance(out, dict):  # {content, success}
        failed = out.get("success") is False
        out = out.get("content")
    if isinstance(out, list):
        out = text_of(out, 1 << 30) or ""
    text = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
    if text.startswith("{") and '"exit_code"' in text:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            meta = data.get("metadata")
            code = meta.get("exit_code") if isinstance(meta, dict) else data.get("exit_code")
            if isinstance(code, int) and code != 0:
                failed = True
            if isinstance(data.get("output"), str):
                text = data["output"] if not isinstance(code, int) else f"Exit code: {code}\n{data['output']}"
    elif text.startswith("Exit code: "):
        first = text[11:].split("\n", 1)[0].strip()
        if first.lstrip("-").isdigit() and int(first) != 0:
            failed = True
    return {"type": "tool_result", "tool_use_id": call_id, "content": text, "is_error": failed}


def _reasoning(item: dict[str, Any]) -> dict[str, Any] | None:
    parts = []
    for key in ("summary", "content"):
        for p in item.get(key) or []:
            if isinstance(p, dict) and isinstance(p.get("text"), str):
                parts.append(p["text"])
    if not parts:
        return None
    return {"type": "thinking", "thinking": "\n\n".join(parts)}


def _usage(info: Any, previous: dict[str, Any] | None) -> tuple[dict[str, int] | None, dict[str, Any] | None]:
    """(usage in the Anthropic shape, the new running total) from a token_count `info`; None usage when
    the event repeats the previous total (Codex reports the same count more than once)."""
    if not isinstance(info, dict):
        return None, previous
    total = info.get("total_token_usage") if isinstance(info.get("total_token_usage"), dict) else None
    if total is not None and previous is not None and total == previous:
        return None, previous
    last = info.get("last_token_usage") if isinstance(info.get("last_token_usage"), dict) else None
    if last is None and total is not None:  # derive the step from the running totals
        prev = previous or {}
        last = {k: max(0, _int(total.get(k)) - _int(prev.get(k))) for k in total}
    if last is None:
        return None, total or previous
    inp, cached = _int(last.get("input_tokens")), _int(last.get("cached_input_tokens"))
    usage = {"input_tokens": max(0, inp - cached), "output_tokens": _int(last.get("output_tokens")),
             "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0}
    return usage, total or previous


def _int(v: Any) -> int:
    return v if isinstance(v, int) and v > 0 else 0


# ---------------------------------------------------------------- conversion


class _Rollout:
    def __init__(self, b: SessionBuilder, model: str | None) -> None:
        self.b = b
        self.model = model
        self.response = 0  # one id per model response: assistant items in a row share it
        self.total: dict[str, Any] | None = None

    def item(self, ts: str, item: dict[str, Any], counts: Any) -> bool:
        kind = item.get("type")
        b = self.b
        if kind == "message":
            role = item.get("role")
            blocks = _content_blocks(item.get("content"))
            if role == "assistant":
                b.assistant(ts, f"response-{self.response}", blocks, model=self.model)
            elif role == "user":
                self.response += 1
                b.user(ts, blocks)
            else:
                counts.ignored[f"message:{role}"] += 1
                return False
            return True
        if kind in ASSISTANT_ITEMS:
            block = _reasoning(item) if kind == "reasoning" else _tool_use(item)
            if block is None:
                counts.ignored[f"{kind}:empty" if kind == "reasoning" else str(kind)] += 1
                return False
            b.assistant(ts, f"response-{self.response}", [block], model=self.model)
            return True
        if kind in OUTPUT_ITEMS:
            block = _tool_result(item)
            if block is None:
                counts.malformed += 1
                return False
            self.response += 1
            b.user(ts, [block])
            return True
        if kind in ITEM_TYPES:
            counts.ignored[str(kind)] += 1
        else:
            counts.unknown[f"response_item:{kind}"] += 1
        return False

    def token_count(self, payload: dict[str, Any]) -> None:
        usage, self.total = _usage(payload.get("info"), self.total)
        if usage is None:
            return
        if not self.b.attach_usage(usage):
            self.b.add_usage_only(usage)
        self.response += 1


def convert(t: Transcript, ctx: UnitContext, result: UnitResult) -> None:
    counts = result.counts
    b = ctx.open_session(t, result)
    r = _Rollout(b, t.model)
    pending = list(t.children)
    announced: list[ChildRef] = []
    for _lineno, obj in iter_json_lines(t.path, counts, ctx.progress):
        kind = obj.get("type")
        payload = obj.get("payload")
        if kind == "response_item" and isinstance(payload, dict):
            item: dict[str, Any] | None = payload
        elif kind in ITEM_TYPES and payload is None:
            item = obj  # early rollouts: items without the envelope
        else:
            item = None
        if item is not None:
            ts = b.ts(obj.get("timestamp"))
            if pending:
                ms = parse_ts_ms(ts)
                while pending and ms is not None and pending[0].start_ms <= ms:
                    ref = pending.pop(0)
                    b.subagent(ref.start_ts, ref.session_id, ref.brief)
                    announced.append(ref)
            if r.item(ts, item, counts):
                counts.imported += 1
            continue
        if kind == "event_msg" and isinstance(payload, dict):
            sub = payload.get("type")
            if sub == "token_count":
                r.token_count(payload)
                counts.imported += 1
            else:
                counts.ignored[f"event_msg:{sub}"] += 1
        elif kind == "turn_context" and isinstance(payload, dict):
            if isinstance(payload.get("model"), str):
                r.model = payload["model"]
            counts.ignored["turn_context"] += 1
        elif kind in ENVELOPE_TYPES:
            counts.ignored[str(kind)] += 1
        elif obj.get("record_type") is not None or ("id" in obj and "timestamp" in obj and kind is None):
            counts.ignored["legacy_meta"] += 1
        else:
            counts.unknown[kind if isinstance(kind, str) else "(no type)"] += 1
    for ref in pending:
        b.subagent(ref.start_ts, ref.session_id, ref.brief)
        announced.append(ref)
    for ref in announced:
        b.subagent(b.last_ts, ref.session_id, None, event="finished", status="completed")
    b.end()
