"""Deterministic, streaming signal extraction from one session log (no model needed).

One pass over the file, line by line, keeping only a small per-session state:
- tool errors, grouped by the tool (the program, for shell calls) and a template of the message;
- error -> recovery pairs: the next call (within a few) that succeeded on the same target with
  another tool or other arguments (a conversion step, zgrep instead of grep, ...);
- user corrections (later user messages that say "no", "not", "instead", "again", ...);
- loops: the same call with the same input three times or more;
- memory notes written through the memory tool;
- outcome evaluations recorded by the run, the session's cost, tool calls and truncated outputs.
Observations go into `Aggregates` under the session's episode (its lead session's id).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.text import (
    call_display,
    content_text,
    error_template,
    excerpt,
    generic_display,
    input_key,
    mask,
    targets,
    tool_label,
)
from dreamcli.sessions.reader import ReadStats, parse_line
from dreamcli.words import stems

RECOVERY_WINDOW = 4  # calls after an error in which a success on the same target counts as its recovery
LOOP_MIN = 3
RUNNING_GRACE_S = 1800  # a session without an end, active this recently, may still be running
INSPECTION = frozenset({"bash:ls", "bash:pwd", "bash:file", "bash:stat", "bash:which", "bash:echo", "bash:wc",
                        "bash:find", "bash:tree", "glob", "memory"})
_CORRECTION = re.compile(
    r"(?i)(^\s*(no|nope|wrong|again|stop|actually)\b|\bnot\b|\bdon'?t\b|\bdo not\b|\bnever\b|\balways\b|"
    r"\binstead\b|\brather than\b|\bthat'?s wrong\b|\bI said\b)"
)
MEMORY_WRITE_KEYS = {"create": "file_text", "str_replace": "new_str", "insert": "insert_text"}


class _Call:
    """A tool call; its display form and targets are computed only when needed."""

    __slots__ = ("_display", "_targets", "index", "input", "key", "label", "name", "seq")

    def __init__(self, name: str, tool_input: Any, seq: int, index: int) -> None:
        self.name = name
        self.input = tool_input
        self.label = tool_label(name, tool_input)
        self.seq = seq
        self.index = index
        self.key = input_key(name, tool_input)
        self._display: str | None = None
        self._targets: frozenset[str] | None = None

    @property
    def display(self) -> str:
        if self._display is None:
            self._display = call_display(self.name, self.input)
        return self._display

    @property
    def targets(self) -> frozenset[str]:
        if self._targets is None:
            self._targets = targets(self.name, self.input)
        return self._targets


@dataclass
class _OpenError:
    sig: str
    targets: frozenset[str]
    label: str
    key: str
    index: int


@dataclass(slots=True)
class SessionInfo:
    """What the engine keeps about a scanned session (to join grades and count entries)."""

    session_id: str
    episode: str
    task: str | None
    entry_ids: list[str]
    last_ts: str | None
    evaluations: dict[str, tuple[int, str | None, list[dict[str, Any]], str | None]] = field(default_factory=dict)
    deferred: bool = False
    skipped: bool = False  # out of scope


@dataclass
class _State:
    sid: str = ""
    episode: str = ""
    task: str | None = None
    ts: str | None = None
    calls: dict[str, _Call] = field(default_factory=dict)
    open_errors: list[_OpenError] = field(default_factory=list)
    tool_errors: dict[str, str] = field(default_factory=dict)
    n_calls: int = 0
    inputs: dict[str, list[Any]] = field(default_factory=dict)
    user_texts: int = 0
    cost: float = 0.0
    truncated: int = 0
    truncated_example: str | None = None
    ended: bool = False


Scope = Callable[[dict[str, Any]], bool]


def scan_session(path: Path | str, agg: Aggregates, *, playbook: str, stats: ReadStats, scope: Scope | None = None,
                 now: datetime | None = None) -> SessionInfo | None:
    """Read one session file into `agg`. None when the file holds no readable session.start."""
    st = _State()
    info: SessionInfo | None = None
    with open(path, "rb") as f:
        for raw in f:
            stats.lines += 1
            stats.bytes += len(raw)
            if info is not None and _only_successes(raw):
                stats.events += 1
                for tool_id in _TOOL_RESULT_ID.findall(raw):
                    _success(tool_id.decode("utf-8", "replace"), st, agg)
                continue
            blank = raw.isspace() or not raw
            event = None if blank else parse_line(raw)
            if event is None:
                if not blank:
                    if raw.endswith(b"\n"):
                        stats.corrupt += 1
                    else:
                        stats.truncated += 1
                continue
            stats.events += 1
            etype = event.get("type")
            if info is None:
                if etype != "session.start":
                    return None
                info = _start(event, st, agg, playbook, scope)
                if info.skipped:
                    return info
                continue
            ts = event.get("ts")
            if isinstance(ts, str):
                st.ts = ts
            if etype == "message":
                _message(event, st, agg)
            elif etype == "tool":
                kind = event.get("error_kind")
                if kind and isinstance(event.get("tool_use_id"), str):
                    st.tool_errors[event["tool_use_id"]] = str(kind)
                if event.get("truncated"):
                    _truncated(st, event.get("tool_use_id"))
            elif etype == "outcome.evaluation":
                _evaluation(event, info)
            elif etype == "session.end":
                st.ended = True
                totals = event.get("totals") or {}
                if isinstance(totals.get("cost_usd"), int | float):
                    st.cost = float(totals["cost_usd"])
    if info is None:
        return None
    info.last_ts = st.ts
    if not st.ended and _recent(st.ts, now):
        info.deferred = True  # probably still running: read it again next time
        return info
    _finish(st, agg)
    return info


def _start(event: dict[str, Any], st: _State, agg: Aggregates, playbook: str, scope: Scope | None) -> SessionInfo:
    st.sid = sys.intern(str(event.get("session_id") or ""))
    parent = event.get("parent_session_id")
    task = event.get("task")
    name = task.get("name") if isinstance(task, dict) else None
    st.task = sys.intern(name) if isinstance(name, str) else None
    st.ts = event.get("ts")
    entry_ids: list[str] = []
    for pb in event.get("playbooks") or []:
        if isinstance(pb, dict) and pb.get("playbook") == playbook:
            entry_ids.extend(str(i) for i in pb.get("entry_ids") or [])
    parent_id = parent if isinstance(parent, str) and parent else None
    in_scope = scope is None or scope(event) or (
        parent_id is not None and (parent_id in agg.episodes or parent_id in agg.parents or parent_id in agg.known))
    st.episode = agg.episode_of(st.sid, sys.intern(parent_id) if parent_id else None) if in_scope else st.sid
    info = SessionInfo(st.sid, st.episode, st.task, entry_ids, st.ts, skipped=not in_scope)
    if in_scope:
        agg.add_cost(st.episode, st.task, not parent, 0.0, 0, 0, None)
    return info


def _message(event: dict[str, Any], st: _State, agg: Aggregates) -> None:
    content = event.get("content")
    seq = int(event.get("seq") or 0)
    if event.get("role") == "assistant":
        if isinstance(event.get("cost_usd"), int | float) and not st.ended:
            st.cost += float(event["cost_usd"])
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    _tool_use(block, seq, st, agg)
        return
    if isinstance(content, str):
        _user_text(content, seq, st, agg)
        return
    if not isinstance(content, list):
        return
    for block in content:
        if not isinstance(block, dict):
            continue
        btype = block.get("type")
        if btype == "tool_result":
            _tool_result(block, seq, st, agg)
        elif btype == "text":
            _user_text(str(block.get("text", "")), seq, st, agg)


def _tool_use(block: dict[str, Any], seq: int, st: _State, agg: Aggregates) -> None:
    name = str(block.get("name") or "?")
    tool_input = block.get("input")
    st.n_calls += 1
    call = _Call(name, tool_input, seq, st.n_calls)
    st.calls[str(block.get("id"))] = call
    seen = st.inputs.get(call.key)
    if seen is None:
        st.inputs[call.key] = [1, call]
    else:
        seen[0] += 1
    if name == "memory" and isinstance(tool_input, dict):
        _memory(tool_input, seq, st, agg)


_TOOL_RESULT_ID = re.compile(rb'"tool_use_id":"([^"\\]+)"')


def _only_successes(raw: bytes) -> bool:
    """A user message made only of successful tool results, as SessionWriter writes them: the big
    lines of a log, handled without parsing (their content never matters)."""
    head = raw[:200]
    return (raw.endswith(b"}\n") and b'"type":"message"' in head and b'"role":"user"' in head
            and b'"tool_result"' in raw[:400] and b'"is_error":false' in raw and b'"is_error":true' not in raw
            and b'"is_error": true' not in raw and b'"type":"text"' not in raw and b'"type": "text"' not in raw)


def _success(tool_id: str, st: _State, agg: Aggregates) -> None:
    if tool_id in st.tool_errors:  # the tool event said it failed: read the line properly next time
        return
    call = st.calls.pop(tool_id, None)
    if call is not None:
        _succeeded(call, st, agg)


def _tool_result(block: dict[str, Any], seq: int, st: _State, agg: Aggregates) -> None:
    tool_id = str(block.get("tool_use_id"))
    call = st.calls.pop(tool_id, None)
    if call is None:
        return
    failed = bool(block.get("is_error")) or tool_id in st.tool_errors
    if failed:
        text = content_text(block.get("content")) or st.tool_errors.get(tool_id, "error")
        template = error_template(text)
        sig = f"{call.label}|{template}"
        pat = agg.pattern("error", sig, call.label, template)
        pat.observe(st.episode, st.sid, st.ts,
                    {"session_id": st.sid, "seq": seq, "excerpt": excerpt(f"{call.display} -> {text}")})
        st.open_errors = [e for e in st.open_errors if e.sig != pat.key][-3:]
        st.open_errors.append(_OpenError(pat.key, call.targets, call.label, call.key, call.index))
        return
    _succeeded(call, st, agg)


def _succeeded(call: _Call, st: _State, agg: Aggregates) -> None:
    if not st.open_errors or call.label in INSPECTION:
        return
    for err in list(st.open_errors):
        if call.index - err.index > RECOVERY_WINDOW:
            st.open_errors.remove(err)
            continue
        if call.key == err.key or not (call.targets & err.targets):
            continue
        pat = agg.patterns.get(err.sig)
        if pat is not None:
            example = generic_display(call.display, err.targets)
            pat.recover(f"{call.label}|{mask(call.display)}", call.label, example, st.episode)
        st.open_errors.remove(err)


def _user_text(text: str, seq: int, st: _State, agg: Aggregates) -> None:
    st.user_texts += 1
    if st.user_texts == 1 or len(text) > 600 or not _CORRECTION.search(text):
        return
    words = stems(text)
    if len(words) < 2:
        return
    pat = agg.pattern("correction", " ".join(sorted(words)), "user", excerpt(text, 200))
    pat.observe(st.episode, st.sid, st.ts, {"session_id": st.sid, "seq": seq, "excerpt": excerpt(text)})
    pat.example(excerpt(text, 240))


def _memory(tool_input: dict[str, Any], seq: int, st: _State, agg: Aggregates) -> None:
    command = str(tool_input.get("command") or "")
    path = tool_input.get("path")
    if isinstance(path, str) and st.ts and agg.memory_touch.get(path, "") < st.ts:
        agg.memory_touch[path] = st.ts
    text_key = MEMORY_WRITE_KEYS.get(command)
    text = tool_input.get(text_key) if text_key else None
    if not isinstance(text, str) or not isinstance(path, str) or not text.strip():
        return
    words = stems(text)
    if len(words) < 3:
        return
    pat = agg.pattern("memory", " ".join(sorted(words))[:400], path, excerpt(text, 300))
    pat.observe(st.episode, st.sid, st.ts, {"session_id": st.sid, "seq": seq, "excerpt": excerpt(f"{path}: {text}")})
    pat.example(path)


def _truncated(st: _State, tool_id: Any) -> None:
    st.truncated += 1
    call = st.calls.get(str(tool_id))
    if call is not None and st.truncated_example is None:
        st.truncated_example = call.display


def _evaluation(event: dict[str, Any], info: SessionInfo) -> None:
    outcome = event.get("outcome")
    if not isinstance(outcome, str):
        return
    iteration = int(event.get("iteration") or 0)
    prev = info.evaluations.get(outcome)
    if prev is None or iteration >= prev[0]:
        # keep only what grading needs: the failing criteria (id, reason), not whole verdicts
        criteria = [{"id": c.get("id"), "passed": False, "reason": c.get("reason")}
                    for c in event.get("criteria") or [] if isinstance(c, dict) and c.get("passed") is False]
        info.evaluations[outcome] = (iteration, event.get("result"), criteria, event.get("ts"))


def _finish(st: _State, agg: Aggregates) -> None:
    for count, call in st.inputs.values():
        if count >= LOOP_MIN and call.label not in ("memory",):
            tmpl = mask(call.display)
            pat = agg.pattern("loop", f"{call.label}|{tmpl}", call.label, tmpl)
            pat.observe(st.episode, st.sid, st.ts,
                        {"session_id": st.sid, "seq": call.seq, "excerpt": excerpt(f"{call.display} x{count}")})
            pat.example(call.display)
    agg.add_cost(st.episode, st.task, st.episode == st.sid, st.cost, st.n_calls, st.truncated, st.truncated_example)
    agg.sessions_seen += 1


def _recent(ts: str | None, now: datetime | None) -> bool:
    if not ts or now is None:
        return False
    try:
        from dreamcli.timeutil import parse_ts

        return (now - parse_ts(ts)).total_seconds() < RUNNING_GRACE_S
    except ValueError:
        return False


def add_grade(agg: Aggregates, info: SessionInfo, outcome: str, result: str | None,
              criteria: list[dict[str, Any]], ts: str | None) -> None:
    """A graded (session, outcome): failing criteria become patterns; entries in context get used."""
    if result in (None, "error", "interrupted"):
        return  # unscored: never counted either way
    agg.graded.setdefault(outcome, set()).add(info.episode)
    for c in criteria:
        cid = c.get("id")
        if not isinstance(cid, str) or c.get("passed") is not False:
            continue
        pat = agg.pattern("criterion", f"{outcome}|{cid}", outcome, cid)
        reason = str(c.get("reason") or "")
        pat.observe(info.episode, info.session_id, ts,
                    {"session_id": info.session_id, "seq": None, "excerpt": excerpt(f"{cid}: {reason}")})
        if reason:
            pat.example(excerpt(reason, 200))
    passed = result == "satisfied"
    for entry_id in info.entry_ids:
        agg.use_entry(entry_id, info.episode, passed)
