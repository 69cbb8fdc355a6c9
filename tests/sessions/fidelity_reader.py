"""An independent reading of a transcript file for the fidelity test: deliberately plain rules written
apart from the importers (no dreamcli code), counting what the file itself says. No tests here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_EXIT = re.compile(r"^(?:Exit code:?|Process exited with code) (-?\d+)$", re.M)


@dataclass
class Reading:
    calls: list[str] = field(default_factory=list)  # tool call ids, in order
    answered: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    user_prompts: list[str] = field(default_factory=list)
    user_messages: int = 0  # user lines (Claude Code) / user messages and tool outputs (Codex)
    assistant_messages: int = 0  # runs of assistant lines sharing one message id (Claude Code)
    output_tokens: int = 0  # the largest output_tokens of each assistant message id (Claude Code)
    version: str | None = None  # Claude Code `version` / Codex `cli_version`

    @property
    def unanswered(self) -> int:
        return sum(1 for c in self.calls if c not in self.answered)


def _objects(path: Path) -> list[dict[str, Any]]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def _header_exit(text: str) -> int | None:
    head = text.split("\nOutput:", 1)[0][:400]
    m = _EXIT.search(head)
    return int(m.group(1)) if m else None


def read_claude_code(path: Path, *, sidechains: bool) -> Reading:
    """Main-chain lines (or every line of a sub-agent file, `sidechains=True`)."""
    r = Reading()
    run_id: object = None  # the message id of the assistant lines just read; a user line ends the run
    largest: dict[str, int] = {}
    for o in _objects(path):
        if r.version is None and isinstance(o.get("version"), str):
            r.version = o["version"]
        if o.get("type") not in ("user", "assistant") or (o.get("isSidechain") is True and not sidechains):
            continue
        msg = o.get("message")
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(msg, dict) and isinstance(content, str | list):
            if o["type"] == "user":
                r.user_messages += 1
                run_id = None
            else:
                if msg.get("id") is None or msg.get("id") != run_id:
                    r.assistant_messages += 1
                run_id = msg.get("id")
                usage: dict[str, Any] = msg["usage"] if isinstance(msg.get("usage"), dict) else {}
                key = str(msg.get("id"))
                largest[key] = max(largest.get(key, 0), int(usage.get("output_tokens") or 0))
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        for b in content if isinstance(content, list) else []:
            if isinstance(b, str):
                b = {"type": "text", "text": b}
            if not isinstance(b, dict):
                continue
            if b.get("type") == "tool_use" and b.get("id") not in r.calls:
                r.calls.append(b["id"])
            elif b.get("type") == "tool_result" and b.get("tool_use_id") not in r.answered:
                r.answered.add(b["tool_use_id"])
                if b.get("is_error") is True:
                    r.failed.add(b["tool_use_id"])
            elif b.get("type") == "text" and o["type"] == "user" and not o.get("isMeta"):
                text = b.get("text", "").strip()
                if text and not text.startswith(("<", "Caveat:", "[Request interrupted")):
                    r.user_prompts.append(text)
    r.output_tokens = sum(largest.values())
    return r


def read_codex(path: Path) -> Reading:
    r = Reading()
    failed_by_event: set[str] = set()
    waiting: list[str] = []  # calls sent and not answered yet
    for o in _objects(path):
        p: dict[str, Any] = o["payload"] if isinstance(o.get("payload"), dict) else {}
        kind = p.get("type")
        if o.get("type") == "session_meta" and r.version is None:
            r.version = p.get("cli_version")
        if o.get("type") == "event_msg":
            failed = {
                "exec_command_end": p.get("exit_code") not in (0, None) or p.get("status") == "failed",
                "patch_apply_end": p.get("success") is False,
                "mcp_tool_call_end": "Err" in (p.get("result") or {}),
            }
            if failed.get(str(kind)):
                failed_by_event.add(p["call_id"])
            # a command a code-mode script ran (0.15x): no call id, so it is the one waiting call's
            item: dict[str, Any] = p["item"] if isinstance(p.get("item"), dict) else {}
            if kind == "item_completed" and item.get("type") in ("CommandExecution", "FileChange") \
                    and (item.get("status") == "failed" or item.get("exit_code") not in (0, None)) \
                    and len(waiting) == 1:
                failed_by_event.add(waiting[0])
            if kind in ("task_started", "turn_started"):
                waiting.clear()
            continue
        if o.get("type") != "response_item":
            continue
        if kind in ("function_call", "custom_tool_call", "local_shell_call"):
            r.calls.append(p["call_id"])
            waiting.append(p["call_id"])
        elif kind == "web_search_call":
            cid = f"web-{len(r.calls)}"
            r.calls.append(cid)
            r.answered.add(cid)  # answered by the server
        elif kind in ("function_call_output", "custom_tool_call_output"):
            cid = p["call_id"]
            r.user_messages += 1
            if cid in waiting:
                waiting.remove(cid)
            if cid in r.answered:
                continue
            r.answered.add(cid)
            out = p.get("output")
            text = out if isinstance(out, str) else json.dumps(out)
            code = _header_exit(text)
            if text.startswith("{") and '"exit_code"' in text:
                code = json.loads(text).get("metadata", {}).get("exit_code")
            if (code not in (None, 0)) or text.startswith("err: ") or cid in failed_by_event:
                r.failed.add(cid)
        elif kind == "message" and p.get("role") == "user":
            r.user_messages += 1
            for part in p.get("content") or []:
                text = part.get("text", "").strip() if isinstance(part, dict) else ""
                if text and not text.startswith(("<", "# AGENTS.md")):
                    r.user_prompts.append(text)
    return r
