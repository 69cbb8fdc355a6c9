"""Generators of realistic Claude Code and Codex transcripts for the import tests and the import
benchmark (bench/bench_import.py). Each generator returns what an importer should find."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_WORDS = ("the", "build", "failed", "because", "lockfile", "was", "stale", "so", "we", "regenerated", "it",
          "and", "reran", "tests", "parser", "config", "module", "import", "error", "fixture", "retry",
          "timeout", "cache", "index", "schema", "migration", "https://docs.example.com/api", "task-runner",
          "basic")  # a URL and words that make the redactor look closer (sk-, basic) as real text does


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _ts(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def code_text(rng: random.Random, size: int) -> str:
    """Source-code-like text of about `size` characters."""
    lines, n = [], 0
    while n < size:
        indent = "    " * rng.randint(0, 3)
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 10)))
        line = f"{indent}{rng.choice(('def', 'return', '#', 'if', 'for', 'x ='))} {words}"
        lines.append(line)
        n += len(line) + 1
    return "\n".join(lines)


@dataclass
class Expected:
    """What an importer should report for one generated transcript (its own session only)."""

    session_id: str
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    unknown_lines: int = 0
    children: list[str] = field(default_factory=list)
    start: str = ""


# ---------------------------------------------------------------- Claude Code


class ClaudeSession:
    """Writes one Claude Code transcript line by line, the way Claude Code does: one line per
    content block of an assistant message, all sharing `message.id` and repeating its usage."""

    def __init__(self, session_id: str, start: datetime, rng: random.Random, *, cwd: str = "/home/dev/proj",
                 sidechain: bool = False, agent_id: str | None = None, version: str = "2.0.14") -> None:
        self.sid, self.t, self.rng = session_id, start, rng
        self.cwd, self.sidechain, self.agent_id, self.version = cwd, sidechain, agent_id, version
        self.lines: list[str] = []
        self.last_uuid: str | None = None
        self.n = 0
        self.msg_n = 0
        self.exp = Expected(session_id, start=_ts(start))

    def _base(self, kind: str, *, sidechain: bool | None = None, parent: str | None = "last") -> dict[str, Any]:
        self.n += 1
        self.t += timedelta(milliseconds=self.rng.randint(200, 4000))
        uuid = f"{self.sid[:8]}-u{self.n:06d}"
        d: dict[str, Any] = {
            "parentUuid": self.last_uuid if parent == "last" else parent,
            "isSidechain": self.sidechain if sidechain is None else sidechain,
            "userType": "external", "cwd": self.cwd, "sessionId": self.sid, "version": self.version,
            "gitBranch": "main", "type": kind, "uuid": uuid, "timestamp": _ts(self.t),
        }
        if self.agent_id:
            d["agentId"] = self.agent_id
        self.last_uuid = uuid
        return d

    def raw(self, obj: Any) -> None:
        self.lines.append(obj if isinstance(obj, str) else _dumps(obj))

    def user(self, content: Any, **kw: Any) -> str:
        d = self._base("user", **kw)
        d["message"] = {"role": "user", "content": content}
        self.raw(d)
        return d["uuid"]

    def assistant(self, blocks: list[dict[str, Any]], *, usage: dict[str, int] | None = None,
                  stop_reason: str = "end_turn", model: str = "claude-sonnet-4-5-20250929", **kw: Any) -> str:
        self.msg_n += 1
        msg_id = f"msg_{self.sid[:6]}{self.msg_n:05d}"
        u = usage or {"input_tokens": self.rng.randint(5, 400), "cache_creation_input_tokens": self.rng.randint(0, 900),
                      "cache_read_input_tokens": self.rng.randint(0, 20000), "output_tokens": self.rng.randint(20, 900)}
        self.exp.turns += 1
        self.exp.input_tokens += u["input_tokens"]
        self.exp.output_tokens += u["output_tokens"]
        self.exp.cache_read_tokens += u["cache_read_input_tokens"]
        self.exp.cache_write_tokens += u["cache_creation_input_tokens"]
        for i, block in enumerate(blocks):
            d = self._base("assistant", **kw)
            d["requestId"] = f"req_{msg_id}"
            last = i == len(blocks) - 1
            d["message"] = {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                            "content": [block], "stop_reason": stop_reason if last else None,
                            "stop_sequence": None, "usage": dict(u, service_tier="standard")}
            if block.get("type") == "tool_use":
                self.exp.tool_calls += 1
            self.raw(d)
        return msg_id

    def tool_round(self, name: str, tool_input: dict[str, Any], output: str, *, error: bool = False,
                   text: str | None = None) -> None:
        self.n += 1
        tid = f"toolu_{self.sid[:6]}{self.n:06d}"
        blocks: list[dict[str, Any]] = []
        if text:
            blocks.append({"type": "text", "text": text})
        blocks.append({"type": "tool_use", "id": tid, "name": name, "input": tool_input})
        self.assistant(blocks, stop_reason="tool_use")
        d = self._base("user")
        d["message"] = {"role": "user", "content": [{"tool_use_id": tid, "type": "tool_result", "content": output,
                                                     **({"is_error": True} if error else {})}]}
        d["toolUseResult"] = {"stdout": output, "stderr": "", "interrupted": False, "isImage": False} \
            if not error else f"Error: {output}"
        if error:
            self.exp.tool_errors += 1
        self.raw(d)

    def write(self, path: Path, *, truncate_last: bool = False) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(self.lines) + "\n"
        if truncate_last:
            text = text.rstrip("\n")
            text = text[: len(text) - max(10, len(self.lines[-1]) // 2)]
        path.write_text(text, encoding="utf-8")
        return path


def claude_transcript(path: Path, *, session_id: str, start: datetime, seed: int = 0, rounds: int = 4,
                      payload: int = 600, error_every: int = 3, string_prompt: bool = True,
                      unknown_lines: int = 1, sidechain: bool = False, truncate_last: bool = False) -> Expected:
    """A Claude Code session: a summary line, a plain-string prompt, tool rounds (some failing), a
    final answer, lines of other types, optionally an inline sidechain and a cut-off last line."""
    rng = random.Random(seed)
    s = ClaudeSession(session_id, start, rng)
    s.raw({"type": "summary", "summary": "Fix the flaky parser tests", "leafUuid": "x"})
    prompt = f"Please fix the failing tests in module {seed}"
    s.user(prompt if string_prompt else [{"type": "text", "text": prompt}])
    for r in range(rounds):
        err = error_every > 0 and r % error_every == error_every - 1
        config = "max_tokens = 4096  # client_secret is read from the vault\n" if r % 5 == 4 else ""
        s.tool_round("Bash", {"command": f"pytest -q tests/test_{r}.py", "description": "run tests"},
                     ("Exit code 1\n" if err else "") + config + code_text(rng, payload), error=err,
                     text="Let me run the tests." if r % 2 == 0 else None)
        if sidechain and r == 0:
            _sidechain(s, rng, payload)
    for _ in range(unknown_lines):
        s.raw({"type": "future-line-kind", "uuid": "z", "sessionId": session_id, "timestamp": _ts(s.t)})
        s.exp.unknown_lines += 1
    s.raw({"type": "file-history-snapshot", "messageId": "m", "snapshot": {}, "isSnapshotUpdate": False})
    s.raw({"type": "system", "subtype": "compact_boundary", "content": "Conversation compacted",
           "sessionId": session_id, "timestamp": _ts(s.t)})
    s.assistant([{"type": "text", "text": "All tests pass now. " + code_text(rng, payload // 4)}])
    s.user("thanks")
    s.write(path, truncate_last=truncate_last)
    return s.exp


def _sidechain(s: ClaudeSession, rng: random.Random, payload: int) -> None:
    """An inline sub-agent conversation (old Claude Code): isSidechain lines chained by parentUuid.
    Its usage and tool calls belong to the child session, not to `s.exp`."""
    saved = (s.exp.turns, s.exp.input_tokens, s.exp.output_tokens, s.exp.cache_read_tokens,
             s.exp.cache_write_tokens, s.exp.tool_calls, s.exp.tool_errors)
    main_last = s.last_uuid
    s.last_uuid = None
    s.user("Search the codebase for the parser config", sidechain=True, parent=None)
    s.assistant([{"type": "text", "text": "Found it in config.py. " + code_text(rng, payload // 3)}],
                sidechain=True)
    (s.exp.turns, s.exp.input_tokens, s.exp.output_tokens, s.exp.cache_read_tokens,
     s.exp.cache_write_tokens, s.exp.tool_calls, s.exp.tool_errors) = saved
    s.last_uuid = main_last


def claude_subagent_file(project_dir: Path, parent_session_id: str, agent_id: str, start: datetime,
                         seed: int = 1, payload: int = 400) -> tuple[Path, Expected]:
    """A recent-layout sub-agent transcript: <project>/<session>/subagents/agent-<id>.jsonl."""
    rng = random.Random(seed)
    s = ClaudeSession(parent_session_id, start, rng, sidechain=True, agent_id=agent_id)
    s.user("Find where the retry timeout is configured", parent=None)
    s.tool_round("Grep", {"pattern": "timeout"}, code_text(rng, payload))
    s.assistant([{"type": "text", "text": "It is set in settings.py line 40."}])
    path = project_dir / parent_session_id / "subagents" / f"agent-{agent_id}.jsonl"
    return s.write(path), s.exp


# ---------------------------------------------------------------- Codex


class CodexRollout:
    def __init__(self, thread_id: str, start: datetime, rng: random.Random, *, cwd: str = "/home/dev/proj",
                 parent_thread_id: str | None = None, model: str = "gpt-5-codex") -> None:
        self.tid, self.t, self.rng, self.model = thread_id, start, rng, model
        self.lines: list[str] = []
        self.total = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0,
                      "reasoning_output_tokens": 0, "total_tokens": 0}
        self.exp = Expected(thread_id, start=_ts(start))
        self.n = 0
        source: Any = "cli"
        if parent_thread_id:
            source = {"subagent": {"thread_spawn": {"parent_thread_id": parent_thread_id, "depth": 1,
                                                    "agent_nickname": "scout", "agent_role": "explorer"}}}
        self.line("session_meta", {"id": thread_id, "timestamp": _ts(start), "cwd": cwd, "originator": "codex_cli_rs",
                                   "cli_version": "0.46.0", "instructions": None, "source": source,
                                   "model_provider": "openai", "git": {"branch": "main"}})

    def line(self, kind: str, payload: dict[str, Any]) -> None:
        self.t += timedelta(milliseconds=self.rng.randint(100, 3000))
        self.lines.append(_dumps({"timestamp": _ts(self.t), "type": kind, "payload": payload}))

    def item(self, payload: dict[str, Any]) -> None:
        self.line("response_item", payload)

    def user(self, text: str) -> None:
        self.line("turn_context", {"cwd": "/home/dev/proj", "approval_policy": "on-request", "model": self.model,
                                   "effort": "medium", "summary": "auto"})
        env = "<environment_context>\n  <cwd>/home/dev/proj</cwd>\n</environment_context>"
        self.item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": env}]})
        self.item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
        self.line("event_msg", {"type": "user_message", "message": text, "images": []})

    def token_count(self, *, repeat: bool = False) -> None:
        last = {"input_tokens": self.rng.randint(2000, 9000), "output_tokens": self.rng.randint(20, 800)}
        last["cached_input_tokens"] = last["input_tokens"] // 2
        last["reasoning_output_tokens"] = last["output_tokens"] // 3
        last["total_tokens"] = last["input_tokens"] + last["output_tokens"]
        for k, v in last.items():
            self.total[k] += v
        self.exp.turns += 1
        self.exp.input_tokens += last["input_tokens"] - last["cached_input_tokens"]
        self.exp.cache_read_tokens += last["cached_input_tokens"]
        self.exp.output_tokens += last["output_tokens"]
        info = {"total_token_usage": dict(self.total), "last_token_usage": last, "model_context_window": 272000}
        for _ in range(2 if repeat else 1):  # Codex repeats a count when only the rate limits changed
            self.line("event_msg", {"type": "token_count", "info": info,
                                    "rate_limits": {"primary": {"used_percent": 3.0, "window_minutes": 300}}})

    def tool_round(self, command: list[str], output: str, exit_code: int = 0, *, json_output: bool = True) -> None:
        self.n += 1
        call_id = f"call_{self.tid[:6]}{self.n:05d}"
        self.item({"type": "reasoning", "summary": [{"type": "summary_text", "text": "**Running the tests**"}],
                   "content": None, "encrypted_content": "gAAAA" + "x" * 200})
        args = _dumps({"command": command, "timeout_ms": 120000})
        self.item({"type": "function_call", "name": "shell", "arguments": args, "call_id": call_id})
        self.exp.tool_calls += 1
        self.token_count(repeat=self.n % 2 == 0)
        if json_output:
            out = _dumps({"output": output, "metadata": {"exit_code": exit_code, "duration_seconds": 1.2}})
        else:
            out = f"Exit code: {exit_code}\nWall time: 1.2 seconds\nOutput:\n{output}"
        self.item({"type": "function_call_output", "call_id": call_id, "output": out})
        if exit_code:
            self.exp.tool_errors += 1

    def answer(self, text: str) -> None:
        self.item({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]})
        self.line("event_msg", {"type": "agent_message", "message": text})
        self.token_count()

    def write(self, path: Path, *, truncate_last: bool = False) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(self.lines) + "\n"
        if truncate_last:
            text = text.rstrip("\n")[: -max(10, len(self.lines[-1]) // 2)]
        path.write_text(text, encoding="utf-8")
        return path


def codex_rollout(root: Path, *, thread_id: str, start: datetime, seed: int = 0, rounds: int = 3,
                  payload: int = 500, fail_every: int = 2, parent_thread_id: str | None = None,
                  unknown_lines: int = 1, truncate_last: bool = False) -> tuple[Path, Expected]:
    """A Codex rollout under root/YYYY/MM/DD/rollout-<ts>-<id>.jsonl."""
    rng = random.Random(seed)
    r = CodexRollout(thread_id, start, rng, parent_thread_id=parent_thread_id)
    r.user(f"Fix the failing build number {seed}")
    for i in range(rounds):
        fail = fail_every > 0 and i % fail_every == fail_every - 1
        r.tool_round(["bash", "-lc", f"pytest -q tests/test_{i}.py"], code_text(rng, payload),
                     exit_code=1 if fail else 0, json_output=i % 2 == 0)
    for _ in range(unknown_lines):
        r.line("hologram_state", {"x": 1})
        r.exp.unknown_lines += 1
    r.answer("Fixed: the lockfile was stale.")
    name = f"rollout-{start:%Y-%m-%dT%H-%M-%S}-{thread_id}.jsonl"
    path = root / f"{start:%Y}" / f"{start:%m}" / f"{start:%d}" / name
    return r.write(path, truncate_last=truncate_last), r.exp


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]
