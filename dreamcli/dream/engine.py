"""`run_dream`: one dream from inputs to a written proposal (the CLI holds the workspace lock).

    select sessions -> scan (signals) -> join grades -> candidates -> entry text (templates or model)
    -> curation (dedupe, counts, retire, budget) -> memory operations -> lint -> dreams/<id>/
    -> state (aggregates, then watermark), only after the proposal is safely written.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dreamcli.config import Config
from dreamcli.dream import grades as grade_join
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.candidates import Candidate, build_candidates
from dreamcli.dream.curation import curate, prior_state
from dreamcli.dream.lint import lint_operation
from dreamcli.dream.memory import memory_operations
from dreamcli.dream.proposal import build_proposal, clean_stale_tmp, write_dream
from dreamcli.dream.report import render_report
from dreamcli.dream.scan import scan_files
from dreamcli.dream.selection import make_scope, new_session_files, selected_files
from dreamcli.dream.templates import offline_text
from dreamcli.dream.watermark import load_aggregates, load_watermark, save_aggregates, save_watermark
from dreamcli.errors import UsageError
from dreamcli.ids import new_ulid
from dreamcli.redaction import Redactor
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line
from dreamcli.workspace.home import Workspace

MAX_INSTRUCTIONS = 4096
Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class DreamOptions:
    playbook: str | None = None
    since: datetime | None = None
    session_ids: list[str] = field(default_factory=list)
    task: str | None = None
    all: bool = False
    offline: bool = False
    instructions: str | None = None
    dry_run: bool = False
    min_support: int | None = None
    max_candidates: int | None = None
    memory_store: str = "default"
    model: str | None = None
    now: datetime | None = None  # for tests: what "now" is when deciding a session may still run

    @property
    def mode(self) -> str:
        if self.all:
            return "all"
        if self.since is not None or self.session_ids or self.task:
            return "explicit"
        return "new"


@dataclass
class DreamResult:
    status: str  # pending | empty | nothing_new | dry_run
    playbook: str
    dream_id: str | None = None
    path: Path | None = None
    operations: list[dict[str, Any]] = field(default_factory=list)
    dream: dict[str, Any] = field(default_factory=dict)
    report: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "playbook": self.playbook, "dream_id": self.dream_id,
                "path": str(self.path) if self.path else None, "operations": self.operations,
                "usage": self.dream.get("usage"), "inputs": self.dream.get("inputs"), "stats": self.dream.get("stats")}


def run_dream(ws: Workspace, config: Config, opts: DreamOptions, progress: Progress | None = None) -> DreamResult:
    from dreamcli.modelclient import model_configured
    from dreamcli.playbooks import load_playbook
    from dreamcli.playbooks.store import check_name

    started = time.monotonic()
    if opts.instructions is not None and len(opts.instructions) > MAX_INSTRUCTIONS:
        raise UsageError(f"--instructions: {len(opts.instructions)} characters; at most {MAX_INSTRUCTIONS}")
    name = check_name(opts.playbook or config.playbooks.default)
    offline = opts.offline or not model_configured()
    playbook = load_playbook(ws, name)
    mode = opts.mode
    mark = load_watermark(ws, name)
    if not opts.dry_run:  # --dry-run writes and deletes nothing, not even stale temp directories
        clean_stale_tmp(ws)
    if mode == "new":
        files = new_session_files(ws, mark)
    else:
        files = selected_files(ws, since=opts.since, session_ids=opts.session_ids)
    grades_size = grade_join.grades_size(ws)
    if grades_size < mark.grades_offset:
        mark.grades_offset = 0  # the grades file was replaced
    if mode == "new" and not files and grades_size == mark.grades_offset:
        if mark.arrivals_next != mark.arrivals_offset and not opts.dry_run:  # arrivals whose files are gone
            mark.arrivals_offset = mark.arrivals_next
            save_watermark(ws, mark)
        if not opts.dry_run:
            _log(ws, f"dream playbook={name} status=nothing_new")
        return DreamResult(status="nothing_new", playbook=name)

    stored = load_aggregates(ws, name)
    agg = stored if mode == "new" else Aggregates(proposed=dict(stored.proposed), entry_use=stored.entry_use)
    for pattern in agg.patterns.values():
        pattern.touched = False
    scope = make_scope(name, playbook, opts.task)
    now = opts.now or datetime.now(UTC)
    last_id = max((p.stem.upper() for p in files), default="")
    paths = [str(p) for p in files]  # plain strings: a Path per session costs more than the dream needs
    del files
    read, stats = scan_files(paths, agg, playbook=name, scope=scope, now=now, progress=progress)
    scanned, deferred, new_episodes = read.ids, read.deferred, read.episodes
    offset = 0 if mode != "new" else mark.grades_offset
    graded, grades_read = grade_join.join(ws, agg, read, offset=offset, include_old=mode == "new", scope=scope,
                                          playbook=name)

    min_support = opts.min_support or config.dream.min_support
    max_candidates = opts.max_candidates or config.dream.max_candidates
    ranked = build_candidates(agg, min_support=min_support, new_episodes=new_episodes)
    fresh = [c for c in ranked if c.fresh][:max_candidates]
    dream_id = new_ulid()
    usage: dict[str, Any] = {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0,
                             "cache_creation_input_tokens": 0, "model_calls": 0, "model": None}
    extra_ops: list[dict[str, Any]] = []
    texts = {c.key: offline_text(c) for c in fresh}
    fallbacks = 0
    skipped: list[str] = []
    live = {e.id for e in playbook.entries()} if playbook is not None else set()
    to_write = [c for c in fresh if prior_state(ws, c, agg, live)[0] is None]
    if not offline and to_write:  # only what could become new text goes to the model
        from dreamcli.dream.synthesis import synthesize

        synth = synthesize(to_write, playbook, config, instructions=opts.instructions, model=opts.model,
                           memory=_memory_digest(ws, opts.memory_store))
        asked = {c.key for c in to_write}
        texts = {**{c.key: offline_text(c) for c in fresh if c.key not in asked}, **synth.texts}
        extra_ops = synth.operations
        usage.update(synth.usage)
        fallbacks = synth.fallbacks
        skipped = synth.skipped
    curated = curate(ws, playbook, fresh, texts, agg, token_budget=config.dream.token_budget, extra_ops=extra_ops,
                     name=name)
    curated.dropped.extend({"key": k, "why": "the model did not propose it"} for k in skipped)
    reference = _parse(read.latest) or now
    mem_ops, _notes = memory_operations(ws, opts.memory_store, agg, reference=reference)
    operations = curated.operations + mem_ops
    for op in operations:
        op["lint"] = [f.to_json() for f in lint_operation(op, config)]
    # Always, built-in rules included: logs were redacted when written (perhaps before these patterns
    # existed), but memory notes and playbook text were not, and a retire carries the text it removes.
    redactor = Redactor(config.redaction.patterns)
    operations = redactor.redact_obj(operations)
    proposal_lint = []
    if curated.tokens_after > config.dream.token_budget:
        proposal_lint.append({"severity": "warn", "rule": "token-budget",
                              "message": f"the playbook would be about {curated.tokens_after} tokens, over its budget "
                                         f"of {config.dream.token_budget}; retire or merge entries"})
    created = now_rfc3339()
    status = "pending" if operations else "empty"
    dream = {
        "v": 1, "dream_id": dream_id, "status": status, "created": created, "playbook": name,
        "memory_store": opts.memory_store, "offline": offline, "instructions": opts.instructions,
        "inputs": {"selection": _selection(opts), "sessions": len(scanned), "episodes": len(new_episodes),
                   "bytes": stats.bytes, "graded": graded, "deferred": len(deferred),
                   "out_of_scope": read.out_of_scope, "skipped_lines": stats.skipped},
        "usage": usage,
        "stats": {"patterns": len(agg.patterns), "candidates": len(ranked), "fresh_candidates": len(fresh),
                  "operations": len(operations), "model_fallbacks": fallbacks,
                  "duration_s": round(time.monotonic() - started, 3)},
    }
    base_version = playbook.version if playbook is not None else 0
    proposal = build_proposal(dream_id=dream_id, created=created, playbook=name, base_version=base_version,
                              memory_store=opts.memory_store, operations=operations, lint=proposal_lint,
                              token_budget=config.dream.token_budget, tokens_after=curated.tokens_after,
                              tokens_before=curated.tokens_before)
    near: list[str] = []
    if min_support > 2:  # at 2, the patterns just below are one-offs: not worth listing
        below = build_candidates(agg, min_support=min_support - 1, new_episodes=new_episodes)
        near = [offline_text(c) for c in below if c.support == min_support - 1 and c.fresh][:5]
    report = render_report(dream=dream, proposal=proposal, dropped=curated.dropped, near_misses=near)
    report = redactor.redact_text(report)
    result = DreamResult(status=status, playbook=name, dream_id=dream_id, operations=operations, dream=dream,
                         report=report)
    if opts.dry_run:
        result.status = "dry_run"
        return result
    if operations or scanned or graded:
        result.path = write_dream(ws, dream_id, proposal=proposal, dream=dream, report=report)
    else:  # only other playbooks' sessions (or still-running ones) were new: no dream to review
        result.status, result.dream_id = "nothing_new", None
    _remember(agg, fresh, operations, dream_id)
    agg.commit_entry_use()
    if mode == "new" or mode == "all":
        save_aggregates(ws, name, agg)
        if last_id:
            mark.last_session_id = max(mark.last_session_id or "", last_id)
        mark.deferred = deferred
        mark.grades_offset = grades_read
        mark.arrivals_offset = max(mark.arrivals_offset, mark.arrivals_next)
        mark.dream_id = result.dream_id or mark.dream_id
        mark.sessions_dreamed += len(scanned)
        save_watermark(ws, mark)
    else:
        stored.proposed.update(agg.proposed)
        stored.entry_use = agg.entry_use
        save_aggregates(ws, name, stored)
    _log(ws, f"dream {result.dream_id or '-'} playbook={name} mode={mode} sessions={len(scanned)} "
             f"ops={len(operations)} status={result.status} offline={offline} model_calls={usage['model_calls']} "
             f"duration={dream['stats']['duration_s']}s")
    return result


def _remember(agg: Aggregates, fresh: list[Candidate], operations: list[dict[str, Any]], dream_id: str) -> None:
    by_key = {c.key: c for c in fresh}
    for op in operations:
        sig = op.get("signature")
        if not sig:
            continue
        support = (op.get("support") or {}).get("sessions", 0)
        record = {"entry_id": op["entry_id"], "dream_id": dream_id, "support": support}
        cand = by_key.get(sig)
        for key in cand.pattern_keys if cand is not None else [sig]:
            agg.proposed[key] = record


def _memory_digest(ws: Workspace, store: str) -> list[dict[str, str]]:
    from dreamcli.dream.memory import notes_digest, read_notes

    return notes_digest(read_notes(ws, store))


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def _selection(opts: DreamOptions) -> str:
    if opts.all:
        return "all"
    parts = []
    if opts.session_ids:
        parts.append(f"{len(opts.session_ids)} named sessions")
    if opts.since is not None:
        parts.append(f"since {opts.since.isoformat()}")
    if opts.task:
        parts.append(f"task {opts.task}")
    return ", ".join(parts) or "new since the last dream"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _log(ws: Workspace, message: str) -> None:
    with contextlib.suppress(OSError):
        append_line(ws.logs_dir / "dream.log", f"{now_rfc3339()} {message}")


def dream_summary(result: DreamResult) -> dict[str, Any]:
    return json.loads(json.dumps(result.to_json(), default=str))
