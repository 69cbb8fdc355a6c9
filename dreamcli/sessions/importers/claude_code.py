"""Claude Code transcripts (`~/.claude/projects/<project>/<session>.jsonl`) as dreamcli sessions.

One line per event: `user` / `assistant` lines carry `message` (content as a string or content blocks;
an assistant API message is written as one line per content block, all sharing `message.id`),
`summary`, `system`, `file-history-snapshot` and other lines carry nothing to import. Sub-agents are
either inline (`isSidechain: true` lines of the main file, chained by `parentUuid`) or, in recent
versions, files `<session>/subagents/agent-<id>.jsonl`; both become child sessions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamcli.errors import InputError
from dreamcli.sessions.importers.builder import SessionBuilder, clean_usage
from dreamcli.sessions.importers.common import (
    ChildRef,
    Transcript,
    clean_ts,
    deterministic_ulid,
    discover_files,
    head_objects,
    iter_json_lines,
    ms_to_ts,
    parse_ts_ms,
    text_of,
)
from dreamcli.sessions.importers.context import UnitContext, UnitResult

SOURCE = "claude-code"
MESSAGE_TYPES = ("user", "assistant")
# Line types that exist in Claude Code transcripts but carry nothing for the session log.
IGNORED_TYPES = frozenset({"summary", "system", "file-history-snapshot", "queue-operation", "progress",
                           "custom-title", "tag", "result"})


def default_path() -> Path:
    return Path.home() / ".claude" / "projects"


def discover(root: Path) -> list[Path]:
    """Every `*.jsonl` under `root` (transcripts and `subagents/agent-*.jsonl`), or `root` itself."""
    return discover_files(root)


def _is_cc_line(obj: dict[str, Any]) -> bool:
    t = obj.get("type")
    return t in MESSAGE_TYPES or t in IGNORED_TYPES or "sessionId" in obj or "leafUuid" in obj


def read_header(path: Path) -> dict[str, Any] | None:
    """What the first lines of a transcript say; None when it has no message at all near the top."""
    objs = head_objects(path, until=lambda o: o.get("type") in MESSAGE_TYPES)
    if objs and not any(_is_cc_line(o) for o in objs):
        raise InputError("not a Claude Code transcript (no user, assistant or summary lines; "
                         "Claude Code keeps them in ~/.claude/projects)", file=str(path), line=1)
    head: dict[str, Any] = {"start_ms": None, "start_ts": None, "session_id": None, "cwd": None,
                            "version": None, "model": None, "prompt": None, "agent_id": None,
                            "has_messages": False, "sidechain": False}
    for o in objs:
        if o.get("type") not in MESSAGE_TYPES:
            continue
        head["has_messages"] = True
        if head["start_ms"] is None:
            ms = parse_ts_ms(o.get("timestamp"))
            if ms is not None:
                head["start_ms"], head["start_ts"] = ms, clean_ts(o.get("timestamp"))
                head["sidechain"] = o.get("isSidechain") is True
        for key, src in (("session_id", "sessionId"), ("cwd", "cwd"), ("version", "version"),
                         ("agent_id", "agentId")):
            if head[key] is None and isinstance(o.get(src), str):
                head[key] = o[src]
        msg = o.get("message")
        if not isinstance(msg, dict):
            continue
        if head["model"] is None and o.get("type") == "assistant" and isinstance(msg.get("model"), str) \
                and not msg["model"].startswith("<"):
            head["model"] = msg["model"]
        if head["prompt"] is None and o.get("type") == "user":
            head["prompt"] = text_of(msg.get("content"))
    if not head["has_messages"]:
        return None
    if head["start_ms"] is None:
        start_ms = int(path.stat().st_mtime * 1000)
        head["start_ms"], head["start_ts"] = start_ms, ms_to_ts(start_ms)
    return head


def _subagent_parent(path: Path, head: dict[str, Any]) -> tuple[Path, str] | None:
    """(parent transcript, its source id) for a sub-agent file, None for a main transcript."""
    if path.parent.name == "subagents":
        session_dir = path.parent.parent
        return session_dir.parent / f"{session_dir.name}.jsonl", session_dir.name
    if path.name.startswith("agent-") and head.get("session_id"):
        sid = head["session_id"]
        return path.parent / f"{sid}.jsonl", sid
    return None


def plan(files: list[Path]) -> list[Transcript]:
    """Transcripts to import, with session ids fixed and parents linked to their sub-agent files."""
    heads: dict[Path, dict[str, Any]] = {}
    for p in files:
        h = read_header(p)
        if h is not None:
            heads[p] = h
    out: list[Transcript] = []
    by_path: dict[Path, Transcript] = {}
    for p, h in heads.items():
        parent = _subagent_parent(p, h)
        source_id = p.stem if parent is None else f"{parent[1]}/{p.stem}"
        t = Transcript(
            path=p, size=p.stat().st_size, source_id=source_id, start_ms=h["start_ms"],
            session_id=deterministic_ulid(SOURCE, source_id, h["start_ms"]), start_ts=h["start_ts"],
            workdir=h["cwd"], model=h["model"], prompt=h["prompt"], version=h["version"],
            agent=f"agent-{h['agent_id']}" if h["agent_id"] else None,
            tags=["subagent"] if parent is not None else [],
        )
        if h["version"]:
            t.extra_import["claude_code_version"] = h["version"]
        if parent is not None:
            t.parent_source_id = parent[1]
            t.extra_import["parent_path"] = str(parent[0])
        out.append(t)
        by_path[p] = t
    for t in out:
        if t.parent_source_id is None:
            continue
        parent_path = Path(t.extra_import["parent_path"])
        parent_t = by_path.get(parent_path)
        if parent_t is not None:
            t.parent_session_id = parent_t.session_id
            parent_t.children.append(ChildRef(t.session_id, t.start_ms, t.start_ts, t.prompt))
        elif parent_path.is_file():  # the parent is not part of this import: derive its id anyway
            ph = read_header(parent_path)
            if ph is not None:
                t.parent_session_id = deterministic_ulid(SOURCE, parent_path.stem, ph["start_ms"])
    for t in out:
        t.children.sort(key=lambda c: c.start_ms)
    return out


def _blocks(content: Any) -> list[Any] | None:
    """Content blocks of a message: a plain string becomes one text block; stray strings in a list
    become text blocks; anything else that is not a block is dropped."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        return None
    out: list[Any] = []
    for b in content:
        if isinstance(b, dict) and isinstance(b.get("type"), str):
            out.append(b)
        elif isinstance(b, str):
            out.append({"type": "text", "text": b})
    return out


class _Sidechains:
    """Inline sub-agent conversations of a main transcript, one child session per sidechain root."""

    def __init__(self, ctx: UnitContext, t: Transcript, result: UnitResult, parent: SessionBuilder) -> None:
        self.ctx, self.t, self.result, self.parent = ctx, t, result, parent
        self.root_of: dict[str, str] = {}
        self.children: dict[str, SessionBuilder] = {}

    def route(self, obj: dict[str, Any]) -> SessionBuilder:
        uuid = obj.get("uuid") if isinstance(obj.get("uuid"), str) else None
        parent_uuid = obj.get("parentUuid")
        if isinstance(parent_uuid, str) and parent_uuid in self.root_of:
            root = self.root_of[parent_uuid]
        else:
            root = uuid or (parent_uuid if isinstance(parent_uuid, str) else "sidechain")
        if uuid:
            self.root_of[uuid] = root
        child = self.children.get(root)
        if child is None:
            ts = clean_ts(obj.get("timestamp")) or self.parent.last_ts
            ms = parse_ts_ms(ts) or self.t.start_ms
            source_id = f"{self.t.source_id}#sidechain:{root}"
            sid = deterministic_ulid(SOURCE, source_id, ms)
            msg = obj.get("message")
            brief = text_of(msg.get("content")) if isinstance(msg, dict) else None
            child = self.ctx.open_session(
                self.t, self.result, session_id=sid, start_ts=ts, source_id=source_id,
                parent_session_id=self.parent.session_id, child=True, prompt=brief, tags=["sidechain"],
                agent=None, extra_import={"sidechain_root": root},
            )
            self.children[root] = child
            self.parent.subagent(ts, sid, brief)
        return child

    def finish(self) -> None:
        for child in self.children.values():
            child.end()
            self.parent.subagent(child.last_ts, child.session_id, None, event="finished", status="completed")


def convert(t: Transcript, ctx: UnitContext, result: UnitResult) -> None:
    """Write the sessions of one Claude Code transcript file."""
    counts = result.counts
    main = ctx.open_session(t, result)
    sidechains = _Sidechains(ctx, t, result, main)
    is_child_file = t.parent_source_id is not None
    pending = list(t.children)  # file-based sub-agents, announced when the parent reaches their start
    announced: list[ChildRef] = []
    for _lineno, obj in iter_json_lines(t.path, counts, ctx.progress):
        kind = obj.get("type")
        if kind not in MESSAGE_TYPES:
            if kind in IGNORED_TYPES:
                counts.ignored[kind] += 1
            else:
                counts.unknown[kind if isinstance(kind, str) else "(no type)"] += 1
            continue
        msg = obj.get("message")
        blocks = _blocks(msg.get("content")) if isinstance(msg, dict) else None
        if blocks is None or not isinstance(msg, dict):
            counts.malformed += 1
            continue
        target = main
        if not is_child_file and obj.get("isSidechain") is True:
            target = sidechains.route(obj)
        ts = target.ts(obj.get("timestamp"))
        if pending and target is main:
            ms = parse_ts_ms(ts)
            while pending and ms is not None and pending[0].start_ms <= ms:
                ref = pending.pop(0)
                main.subagent(ref.start_ts, ref.session_id, ref.brief)
                announced.append(ref)
        if kind == "assistant":
            msg_id = msg.get("id")
            target.assistant(ts, msg_id if isinstance(msg_id, str) else None, blocks,
                             model=msg.get("model") if isinstance(msg.get("model"), str) else None,
                             stop_reason=msg.get("stop_reason") if isinstance(msg.get("stop_reason"), str) else None,
                             usage=clean_usage(msg.get("usage")))
        else:
            target.user(ts, blocks)
        counts.imported += 1
    sidechains.finish()
    for ref in pending:
        main.subagent(ref.start_ts, ref.session_id, ref.brief)
        announced.append(ref)
    for ref in announced:
        main.subagent(main.last_ts, ref.session_id, None, event="finished", status="completed")
    main.end()
