"""Deterministic, streaming signal extraction from one session log (no model needed).

One pass over the file, line by line, keeping only a small per-session state:
- tool errors, grouped by the tool (the program, for shell calls) and a template of the message;
- error -> recovery pairs (`dreamcli.dream.pairing`): the next call (within a few) that served the
  same step with another tool or other arguments: the same working files, or the same intent and
  program family, or what the agent said in between names it (`dreamcli.dream.steps`); the same call
  passing unchanged is a flake, not a fix;
- user corrections (later user messages that say "no", "not", "instead", "again", ...), never texts
  the product or a harness wrote into the conversation (`dreamcli.dream.origins`);
- loops: the same call with the same input three times or more (polling and waiting tools aside);
Text is normalised first (zero-width and bidi controls stripped and counted), and each observation
records whether it came from untrusted content (imported transcripts, network output, hidden text).
- memory notes written through the memory tool;
- outcome evaluations recorded by the run, the session's cost, tool calls and truncated outputs.
Observations go into `Aggregates` under the session's episode (its lead session's id). A trial (`is_trial`:
a pilot trial, a `run --with-proposal`, or a sub-agent of one, tagged or not: its lead is in `agg.trials`) is
read to its session.start only.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.calls import Call, OpenError
from dreamcli.dream.lines import (
    UNSET,
    Block,
    End,
    Event,
    Message,
    Tool,
    block_output,
    block_text,
    decode_event,
    settled,
    typed_event,
)
from dreamcli.dream.notes import observe_memory_write
from dreamcli.dream.origins import normalize, product_origin, untrusted_source
from dreamcli.dream.pairing import still_open, succeeded
from dreamcli.dream.session_state import SessionInfo, SessionState
from dreamcli.dream.steps import command_of, is_polling, test_name
from dreamcli.dream.text import content_text, error_template, excerpt, generic_display, mask, opaque, word_head
from dreamcli.dream.transcripts import follows, lead_met
from dreamcli.numbers import finite
from dreamcli.sessions.lineage import Kin, holds, kin_of, parent_key
from dreamcli.sessions.reader import LINE_BUFFER, ReadStats, parse_line
from dreamcli.sessions.running import RUNNING_GRACE_S, looks_running
from dreamcli.words import stems

LOOP_MIN = 3
_CORRECTION = re.compile(
    r"(?i)(^\s*(no|nope|wrong|again|stop|actually)\b|\bnot\b|\bdon'?t\b|\bdo not\b|\bnever\b|\balways\b|"
    r"\binstead\b|\brather than\b|\bthat'?s wrong\b|\bI said\b)"
)
# A message that dictates the literal reply (`reply exactly "Done."`) is a scripted probe (a test
# fixture, an eval, a harness), not a lesson about how to work, whatever "not" or "again" it holds.
_SCRIPTED = re.compile(r"(?i)\b(reply|respond|answer|say|output|print|end|finish)\s+(with\s+)?exactly"
                       r"\s*:?\s*[\"'\u201c\u2018]")  # followed by the quoted literal
NETWORK = frozenset({"WebFetch", "web_fetch", "fetch", "WebSearch", "web_search", "http_get", "bash:curl", "bash:wget"})
MAX_SAID = 1200  # characters of the agent's words kept per open error


Scope = Callable[[dict[str, Any]], bool]


def scan_session(path: Path | str, agg: Aggregates, *, playbook: str, stats: ReadStats, scope: Scope | None = None,
                 now: datetime | None = None) -> SessionInfo | None:
    """Read one session file into `agg`. None when the file holds no readable session.start."""
    with open(path, "rb", buffering=LINE_BUFFER) as f:
        return scan_stream(f, agg, playbook=playbook, stats=stats, scope=scope, now=now)


def scan_stream(f: Iterable[bytes], agg: Aggregates, *, playbook: str, stats: ReadStats, scope: Scope | None = None,
                now: datetime | None = None) -> SessionInfo | None:
    """Read one session's lines (a binary file or stream of whole lines) into `agg`.

    After the session.start, each line is decoded once into a typed event (`dreamcli.dream.lines`):
    tool outputs stay undecoded unless the call failed. Lines the typed decoder refuses go the full way
    through the reader (`parse_line`), which decides what is valid. A valid line whose values are nested
    deeper than its handlers can walk is counted corrupt: no line stops the scan.

    A session set aside as still running (`deferred`: no session.end, active in the last RUNNING_GRACE_S) adds
    nothing to `agg` but its sub-agent link and `agg.running`: read again by the next dream, whole. Whether it
    is one is known at its last line; so unless its file's last line already settles it (`settled`: a
    session.end, or a time long past, as nearly every log), what it shows is held in an `Aggregates` of its own
    until then, and merged into `agg` only if it is not set aside."""
    st = SessionState()
    info: SessionInfo | None = None
    sure = settled(f, now, RUNNING_GRACE_S)
    into = agg if sure else Aggregates(redaction=agg.redaction)  # where the session's own signals go
    lines = events = corrupt = truncated = size = 0
    try:
        for raw in f:
            lines += 1
            size += len(raw)
            if info is not None and (typed := decode_event(raw)) is not None:
                if typed.ts is not UNSET:
                    st.ts = typed.ts
                try:
                    if isinstance(typed, Message):  # most lines: handled here without a further call
                        _message(typed, st, into)
                    else:
                        _other(typed, st)
                except RecursionError:  # values nested deeper than the handlers can walk: a corrupt line
                    corrupt += 1
                    continue
                events += 1
                continue
            blank = raw.isspace() or not raw
            event = None if blank else parse_line(raw)
            if event is None:
                if not blank:
                    if raw.endswith(b"\n"):
                        corrupt += 1
                    else:
                        truncated += 1
                continue
            events += 1
            etype = event.get("type")
            if info is None:
                if etype != "session.start":
                    return None
                info = _start(event, st, agg, playbook, scope, into)
                if info.skipped:
                    return info
                continue
            ts = event.get("ts")
            if isinstance(ts, str):
                st.ts = ts
            try:
                if etype == "outcome.evaluation":
                    _evaluation(event, info)
                elif (typed := typed_event(event)) is not None:
                    if isinstance(typed, Message):
                        _message(typed, st, into)
                    else:
                        _other(typed, st)
            except RecursionError:
                events -= 1
                corrupt += 1
    finally:
        stats.lines, stats.events, stats.bytes = stats.lines + lines, stats.events + events, stats.bytes + size
        stats.corrupt, stats.truncated = stats.corrupt + corrupt, stats.truncated + truncated
        if info is not None and info.skipped and st.sid in agg.outside:  # may be read again, whole: scan._adopt
            info.counted = (lines, events, corrupt, truncated, size)
    if info is None:
        return None
    info.last_ts = st.ts
    info.hidden = st.hidden
    # settled by its last line: never set aside (a log written again while it was read is read as it was then)
    if not sure and looks_running(st.ended, st.ts, now):
        info.deferred = True  # probably still running: read it again next time, nothing of it kept
        agg.running.add(st.sid)
        return info
    _finish(st, into)
    if into is not agg:
        agg.merge(into)
    return info


def _other(event: Event, st: SessionState) -> None:
    """A tool, sub-agent or end event (its time is taken already)."""
    if isinstance(event, Tool):
        _tool(event, st)
    elif isinstance(event, End):
        st.ended = True
        totals = event.totals
        if totals is not UNSET and (cost := finite(totals.get("cost_usd"))) is not None:
            st.cost = cost


def is_trial(start: dict[str, Any]) -> bool:
    """A trial, not real work: a `dreamcli pilot` trial (`pilot`) or a run that placed a dream's pending entries
    (`with_proposal`), or a sub-agent of one (it carries its lead's tags). A dream reads only its first line.
    A sub-agent an older release wrote without the tags is one too: the scan knows it by its lead (`_start`)."""
    return bool(start.get("pilot") or start.get("with_proposal"))


def _start(event: dict[str, Any], st: SessionState, agg: Aggregates, playbook: str, scope: Scope | None,
           into: Aggregates) -> SessionInfo:
    """The session.start, judged against what `agg` met; its episode's record goes to `into` (scan_stream)."""
    st.sid = sys.intern(str(event.get("session_id") or ""))
    parent = event.get("parent_session_id")
    task = event.get("task")
    name = task.get("name") if isinstance(task, dict) else None
    st.task = sys.intern(name) if isinstance(name, str) else None
    st.ts = event.get("ts")
    st.untrusted = untrusted_source(event.get("source"))
    entry_ids: list[str] = []
    for pb in event.get("playbooks") or []:
        if isinstance(pb, dict) and pb.get("playbook") == playbook:
            ids = pb.get("entry_ids")
            if isinstance(ids, list):  # the reader checks `playbooks` is a list, not what it holds
                entry_ids.extend(str(i) for i in ids if isinstance(i, str | int))
    parent_id = parent if isinstance(parent, str) and parent else None
    if parent_id is not None and agg.local is not None and parent_id not in agg.local \
            and parent_id not in agg.known:  # a parallel worker's: its lead is read elsewhere
        return SessionInfo(st.sid, st.sid, st.task, entry_ids, st.ts, skipped=True, away=True)
    # never learnt from, whoever its parent is; nor is a sub-agent of a trial, with its tags or without them
    # (an older release wrote none on sub-agents): the lead starts first, so the scan met it before
    trial = is_trial(event) or (parent_id is not None and parent_id in agg.trials)
    if trial:
        agg.trials.add(st.sid)
    # a sub-agent follows its lead into scope: named by id, or (imported) by a transcript a session met holds
    kin = kin_of(event) if isinstance(event.get("import"), dict) else None
    lead = parent_id if kin is None else lead_met(agg, kin)
    in_scope = not trial and (scope is None or scope(event) or (lead is not None and follows(agg, lead)))
    st.episode = agg.episode_of(st.sid, sys.intern(parent_id) if parent_id else None) if in_scope else st.sid
    info = SessionInfo(st.sid, st.episode, st.task, entry_ids, st.ts, skipped=not in_scope, trial=trial)
    if in_scope:
        into.add_cost(st.episode, st.task, not parent, 0.0, 0, 0, None)
    if kin is not None:
        _imported(kin, st.sid, agg, into if in_scope else None, waits=not trial)
    return info


def _imported(kin: Kin, sid: str, agg: Aggregates, into: Aggregates | None, *, waits: bool) -> None:
    """An imported session's links (dreamcli.sessions.lineage): the transcript it holds, to `agg` (a sub-agent
    may name it, even if this session is set aside as running); and for one that names its lead by transcript
    only, that transcript: to `into` (read in scope; not if set aside), linked after the scan (link_imported), or
    (out of scope on its own and no trial: `waits`) to `agg.outside`, read if the scan reads its lead in scope."""
    for held in holds(kin):
        agg.hold(held, sid)
    named = parent_key(kin)
    if named is None or named[0] != "transcript":
        return
    if into is not None:
        into.unlinked[sid] = named
    elif waits:
        agg.outside[sid] = named


def _message(event: Message, st: SessionState, agg: Aggregates) -> None:
    content = event.content
    seq = event.seq if event.seq is not UNSET else 0
    if event.role == "assistant":
        if (cost := finite(event.cost_usd)) is not None and not st.ended:
            st.cost += cost
        if isinstance(content, str):
            if st.open_errors:
                _said(content, st)
            return
        for block in content:
            if block.type == "tool_use":
                _tool_use(block, seq, st, agg)
            elif block.type == "text" and st.open_errors:
                _said(block_text(block), st)
        return
    if isinstance(content, str):
        _user_text(content, seq, st, agg, event.origin)
        return
    for block in content:
        if block.type == "tool_result":
            _tool_result(block, seq, st, agg)
        elif block.type == "text":
            _user_text(block_text(block), seq, st, agg, event.origin)


def _tool(event: Tool, st: SessionState) -> None:
    """A tool event: the runner's word on whether the call failed, and whether its output was cut."""
    tool_id = None if event.tool_use_id is UNSET else event.tool_use_id
    if event.error_kind and tool_id is not None:
        st.tool_errors[tool_id] = event.error_kind
    if event.truncated:
        _truncated(st, tool_id)


def _tool_use(block: Block, seq: int, st: SessionState, agg: Aggregates) -> None:
    name = str(block.name or "?")
    tool_input = block.input
    st.n_calls += 1
    call = Call(name, tool_input, seq, st.n_calls, agg.redact)
    st.calls[str(block.id)] = call
    seen = st.inputs.get(call.key)
    if seen is None:
        st.inputs[call.key] = [1, call]
    else:
        seen[0] += 1
    if name == "memory" and isinstance(tool_input, dict):
        observe_memory_write(tool_input, agg, seq=seq, session_id=st.sid, episode=st.episode, ts=st.ts,
                             taint=st.taint())


def _said(text: str, st: SessionState) -> None:
    for err in st.open_errors:
        if len(err.said) < MAX_SAID:  # whole words (redacted, before it is cut, where a fix quotes it: pairing)
            err.said = word_head(err.said + " " + text, MAX_SAID)


def _tool_result(block: Block, seq: int, st: SessionState, agg: Aggregates) -> None:
    tool_id = str(block.tool_use_id)
    call = st.calls.pop(tool_id, None)
    if call is None:
        return
    failed = bool(block.is_error) or tool_id in st.tool_errors
    if failed:  # only now is the output decoded
        text, hidden = normalize(content_text(block_output(block)) or st.tool_errors.get(tool_id, "error"))
        st.hidden += hidden
        template = error_template(text, call.targets, agg.redact)  # redacted before it is masked
        sig = f"{call.label}|{template}"
        pat = agg.pattern("error", sig, call.label, template)
        pat.observe(st.episode, st.sid, st.ts, {  # the excerpt (redacted, then cut) only when it is kept
            "session_id": st.sid, "seq": seq, "excerpt": excerpt(f"{call.display} -> {text}", redact=agg.redact)}
            if pat.wants_evidence(st.episode) else None)
        pat.provenance(st.taint("network" if call.label in NETWORK else "", "hidden-characters" if hidden else ""))
        cmd = command_of(call.name, call.input)
        test = test_name(text) if cmd is not None and "test" in cmd[:300] else None
        if cmd is not None:
            pat.example("cmd:" + generic_display(call.display, call.targets)[:120])
        st.open_errors = still_open(st.open_errors, pat.key)  # fixed ones waiting for a chain's next step stay
        st.open_errors.append(OpenError(pat.key, call.targets, call.label, call.key, call.index, call, "", test))
        return
    succeeded(call, st, agg)


def _user_text(text: str, seq: int, st: SessionState, agg: Aggregates, origin: Any) -> None:
    st.user_texts += 1
    if st.user_texts == 1 or len(text) > 600:
        return
    text, hidden = normalize(text)
    st.hidden += hidden
    if not _CORRECTION.search(text) or _SCRIPTED.search(text) or product_origin(origin, text) is not None:
        return  # not a correction, a scripted probe, or the product (or a harness) wrote it, not the user
    text = agg.redact(text)  # before its words become a key and it is cut to excerpts
    words = stems(text)
    if len(words) < 2:
        return
    pat = agg.pattern("correction", " ".join(sorted(words)), "user", excerpt(text, 200))
    pat.observe(st.episode, st.sid, st.ts, {"session_id": st.sid, "seq": seq, "excerpt": excerpt(text)})
    pat.provenance(st.taint("hidden-characters" if hidden else ""))
    pat.example(excerpt(text, 240))


def _truncated(st: SessionState, tool_id: Any) -> None:
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
        # keep only what grading needs: the failing criteria (id, reason, the line), not whole verdicts
        criteria = [{"id": c.get("id"), "passed": False, "reason": c.get("reason"), "seq": event.get("seq")}
                    for c in event.get("criteria") or [] if isinstance(c, dict) and c.get("passed") is False]
        info.evaluations[outcome] = (iteration, event.get("result"), criteria, event.get("ts"))


def _finish(st: SessionState, agg: Aggregates) -> None:
    for count, call in st.inputs.values():
        if count >= LOOP_MIN and call.label not in ("memory",) and not is_polling(call.name, command_of(
                call.name, call.input)) and not opaque(call.display):
            # keyed by the exact input (equal inputs, not equal shapes): the evidence shows the call named
            pat = agg.pattern("loop", f"{call.label}|{call.display}", call.label, mask(call.display))
            pat.observe(st.episode, st.sid, st.ts,
                        {"session_id": st.sid, "seq": call.seq, "excerpt": excerpt(f"{call.display} x{count}")})
            pat.provenance(st.taint())
            pat.example(call.display)
    agg.add_cost(st.episode, st.task, st.episode == st.sid, st.cost, st.n_calls, st.truncated, st.truncated_example)
    agg.sessions_seen += 1
