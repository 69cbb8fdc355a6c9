"""The dream's stages, each a function from what the last one produced to what the next needs:

    select -> scan -> aggregate -> synthesize -> curate -> lint -> write

`dreamcli.dream.engine.run_dream` chains them; each can be called (and tested) alone. Nothing is
written before `write`, and the dream's state (aggregates, then the watermark) only after the
proposal is safely on disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from dreamcli.config import Config
from dreamcli.dream import grades as grade_join
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.candidates import Candidate, build_candidates
from dreamcli.dream.curation import Curated, curate, prior_state
from dreamcli.dream.memory import memory_operations
from dreamcli.dream.options import DreamOptions
from dreamcli.dream.report import not_proposed_counts
from dreamcli.dream.scan import Scanned, scan_files
from dreamcli.dream.selection import make_scope, new_session_files, selected_files
from dreamcli.dream.sources import Bucket, StoreRef, source_id
from dreamcli.dream.templates import offline_text
from dreamcli.dream.watermark import Watermark, load_aggregates, load_watermark, save_watermark
from dreamcli.playbooks.lint import lint_operation
from dreamcli.playbooks.proposal_model import Budget, LintFinding, Operation, Proposal
from dreamcli.store.base import is_session_id
from dreamcli.workspace.home import Workspace

Progress = Callable[[str, int, int], None]  # (phase, done, total): "read" bytes, "propose" model batches


@dataclass
class Selection:
    """select: which playbook, which sessions, and where the last dream stopped."""

    name: str
    playbook: Any  # the live Playbook, or None
    mode: str  # new | all | explicit
    mark: Watermark
    stored: Aggregates  # the patterns of earlier dreams
    set_aside: list[str]  # state files with values no dream wrote, and why (logged by the engine)
    paths: list[str | StoreRef]  # session files, or sessions in object storage (read from the bucket)
    last_id: str
    grades_size: int
    offline: bool
    redaction: tuple[str, ...] = ()  # config `redaction.patterns`: the scan redacts what it keeps with them
    # why the stored patterns are rebuilt from the sessions (dreamcli.dream.older_state), None when they are not
    rebuild: str | None = None
    bucket: Bucket | None = None  # the object store the sessions live in (`sessions.url`), None for the directory

    def nothing_new(self) -> bool:
        return self.mode == "new" and self.rebuild is None and not self.paths \
            and self.grades_size == self.mark.grades_offset


@dataclass
class Findings:
    """scan + aggregate: the patterns seen, with grades joined."""

    agg: Aggregates
    stored: Aggregates
    read: Scanned
    bytes: int
    skipped_lines: int
    graded: int
    grades_read: int
    flaky: list[Candidate] = field(default_factory=list)  # reported in the dream's report, never entries


@dataclass
class Texts:
    """synthesize: entry text per candidate (templates, or the model), and what the model added."""

    fresh: list[Candidate]
    ranked: list[Candidate]
    texts: dict[str, str]
    extra_ops: list[Operation] = field(default_factory=list)
    add_fields: dict[str, dict[str, str]] = field(default_factory=dict)  # the model's section, reason of an add
    usage: dict[str, Any] = field(default_factory=lambda: {
        "input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0,
        "model_calls": 0, "model": None})
    batches: int = 0  # batches of candidates the model was asked about
    fallbacks: int = 0  # ... whose answer was invalid: their entries are the templates'
    skipped: list[str] = field(default_factory=list)


def select(ws: Workspace, config: Config, opts: DreamOptions) -> Selection:
    from dreamcli.modelclient import model_configured
    from dreamcli.playbooks import load_playbook
    from dreamcli.playbooks.store import check_name

    name = check_name(opts.playbook or config.playbooks.default)
    problems: list[str] = []
    mark = load_watermark(ws, name, problems)
    stored = load_aggregates(ws, name, problems, redaction=config.redaction.patterns, mark=mark)
    # state set aside, or an older release's patterns not loaded: every session is read again (the scan starts
    # from empty patterns); --all reads them all anyway, and an explicit dream resets it (engine._save_state)
    if problems or (stored.rebuild is not None and opts.mode == "new"):
        mark = Watermark(playbook=name)
    mode = opts.mode
    bucket = _bucket(ws, config)
    mark.listed_ms = int(time.time() * 1000)  # before listing: where the next bucket lookback may start
    files = new_session_files(ws, mark, bucket) if mode == "new" else selected_files(
        ws, since=opts.since, session_ids=opts.session_ids, bucket=bucket)
    grades_size = grade_join.grades_size(ws)
    if grades_size < mark.grades_offset:
        mark.grades_offset = 0  # the grades file was replaced
    ids = [source_id(p) for p in files]
    mark.selected_next = ids  # read by this dream: kept in the watermark's `recent` (bucket lookback dedupe)
    return Selection(name=name, playbook=load_playbook(ws, name), mode=mode, mark=mark, stored=stored,
                     set_aside=problems,
                     # plain strings for files (a Path per session costs more than needed), store refs as they are
                     paths=[p if isinstance(p, StoreRef) else str(p) for p in files],
                     # the watermark only ever takes a session id: a stray name sorts after every one
                     last_id=max((i for i in ids if is_session_id(i)), default=""), grades_size=grades_size,
                     offline=opts.offline or not model_configured(), redaction=tuple(config.redaction.patterns),
                     rebuild=stored.rebuild, bucket=bucket)


def _bucket(ws: Workspace, config: Config) -> Bucket | None:
    """The object store the workspace's sessions live in (`sessions.url`), or None for the directory."""
    from dreamcli.store.url import check_url, is_local

    url = config.sessions.url
    if is_local(url):
        return None
    try:
        return Bucket(ws, check_url(url or ""))
    except ImportError as e:
        from dreamcli.errors import UsageError

        raise UsageError(f"sessions.url {url!r} needs fsspec and its driver: pip install 'dreamcli[s3]' ({e})") \
            from None


def settle_nothing_new(ws: Workspace, sel: Selection, dry_run: bool) -> None:
    """A dream with nothing to read: only arrivals whose files are gone move the watermark."""
    if not dry_run and sel.mark.take_arrivals():
        save_watermark(ws, sel.mark)


def scan(ws: Workspace, sel: Selection, opts: DreamOptions, progress: Progress | None = None,
         on_warning: Callable[[str], None] | None = None) -> Findings:
    """Read the selected sessions into the aggregates, then join the grades; each session file that cannot be
    read is named to `on_warning`."""
    stored = sel.stored
    # every session read again (--all, or no watermark: lost, or set aside): from empty patterns, or each
    # would count twice; what was proposed and how entries fared is kept
    again = sel.mode != "new" or sel.mark.last_session_id is None
    agg = Aggregates(proposed=dict(stored.proposed), entry_use=stored.entry_use) if again else stored
    for pattern in agg.patterns.values():
        pattern.touched = False
    if sel.mode == "new":  # leads the last dream deferred: their sub-agents follow them, read before them or not
        agg.running.update(sel.mark.deferred)
    links = None
    if sel.mode == "explicit":  # what earlier dreams read: a selection's sub-agents follow it as a whole dream's do
        held = _seed(agg, stored, sel.mark, opts.task)
        links = partial(_more_links, ws, held=held)
    scope = make_scope(sel.name, sel.playbook, opts.task)
    read, stats = scan_files(sel.paths, agg, playbook=sel.name, scope=scope, now=opts.now or datetime.now(UTC),
                             progress=progress, redaction=sel.redaction, locate=lambda sid: _stored(ws, sel, sid),
                             links=links, on_warning=on_warning)
    if sel.mode != "explicit":  # a whole dream: sessions of other playbooks it met (docs/dream.md, Memory)
        agg.other_scopes += read.out_of_scope
    offset = 0 if sel.mode != "new" else sel.mark.grades_offset
    graded, grades_read = grade_join.join(ws, agg, read, offset=offset, include_old=sel.mode == "new", scope=scope,
                                          playbook=sel.name)
    if stored.unverified:  # an older state's proposals by text: kept where the scan made the same key again
        from dreamcli.dream.older_state import verified

        agg.proposed.update(verified(stored.unverified, agg))
        if sel.mode != "explicit":  # a selection saw part of the sessions: the rest held for the next whole dream
            stored.unverified = {}
    return Findings(agg=agg, stored=stored, read=read, bytes=stats.bytes, skipped_lines=stats.skipped,
                    graded=graded, grades_read=grades_read)


def _seed(agg: Aggregates, stored: Aggregates, mark: Watermark, task: str | None) -> dict[str, str]:
    """A selection's links and leads from earlier dreams: the sessions holding imported transcripts, the leads
    read in scope (with --task, of episodes of that task) or deferred as running, and their sub-agent -> lead
    links. Returns the other links (with --task, of other tasks' episodes): joined after the scan (`_more_links`),
    they put what it read in scope into its episode, and bring nothing into its scope."""
    agg.transcripts = dict(stored.transcripts)

    def of_task(session_id: str) -> bool:
        return task is None or (stored.episodes.get(stored.episode_of(session_id, None)) or [None])[0] == task

    agg.known = {sid for sid in (*stored.episodes, *stored.parents) if of_task(sid)}
    agg.parents = {child: lead for child, lead in stored.parents.items() if child in agg.known}
    if task is None:
        agg.running.update(mark.deferred)
    return {child: lead for child, lead in stored.parents.items() if child not in agg.known}


def _more_links(ws: Workspace, agg: Aggregates, *, held: dict[str, str]) -> bool:
    """After a selection's scan: the links `_seed` held back, and the leads of the imported sub-agents it read in
    scope whose lead's transcript neither it nor an earlier dream met, found in the workspace (dreamcli.dream.leads).
    True if it added any."""
    from dreamcli.dream.leads import find_leads

    for child, lead in held.items():
        agg.parents.setdefault(child, lead)
    found = find_leads(ws, {key: child for child, key in agg.unlinked.items() if key not in agg.transcripts})
    for key, lead in found.items():
        agg.hold(key, lead)
    return bool(held or found)


def _stored(ws: Workspace, sel: Selection, sid: str) -> Path | StoreRef | None:
    """A session an earlier dream read (an imported sub-agent its lead now brings into scope): its file, else the
    bucket's copy (read if it is there), else None."""
    from dreamcli.sessions.paths import session_path

    if not is_session_id(sid):  # a state no dream wrote (transcripts.waiting drops these when it is loaded)
        return None
    path = session_path(ws, sid)
    return path if path.is_file() else sel.bucket.ref(sid) if sel.bucket is not None else None


def aggregate(found: Findings, config: Config, opts: DreamOptions) -> tuple[list[Candidate], list[Candidate]]:
    """Rank the patterns into candidates: (all ranked, the fresh ones kept for this dream)."""
    min_support = opts.min_support or config.dream.min_support
    max_candidates = opts.max_candidates or config.dream.max_candidates
    ranked = build_candidates(found.agg, min_support=min_support, new_episodes=found.read.episodes)
    found.flaky = [c for c in ranked if c.kind == "flaky"]
    ranked = [c for c in ranked if c.kind != "flaky"]
    return ranked, [c for c in ranked if c.fresh][:max_candidates]


def synthesize(ws: Workspace, sel: Selection, found: Findings, ranked: list[Candidate], fresh: list[Candidate],
               config: Config, opts: DreamOptions, progress: Progress | None = None) -> Texts:
    """Entry text for every fresh candidate: templates offline; with a model, only for candidates
    that could become new text (not already live, pending or on hold); `progress` follows its batches."""
    out = Texts(fresh=fresh, ranked=ranked, texts={c.key: offline_text(c) for c in fresh})
    live = {e.id for e in sel.playbook.entries()} if sel.playbook is not None else set()
    to_write = [c for c in fresh if prior_state(ws, c, found.agg, live)[0] is None and not c.facts.get("conflict")]
    if sel.offline or not to_write:
        return out
    from dreamcli.dream.memory import notes_digest, read_notes
    from dreamcli.dream.synthesis import synthesize as ask_model

    synth = ask_model(to_write, sel.playbook, config, instructions=opts.instructions, model=opts.model,
                      memory=notes_digest(read_notes(ws, opts.memory_store), found.agg.redact), progress=progress)
    asked = {c.key for c in to_write}
    out.texts = {**{c.key: offline_text(c) for c in fresh if c.key not in asked}, **synth.texts}
    out.extra_ops, out.add_fields = synth.operations, synth.add_fields
    out.usage.update(synth.usage)
    out.batches, out.fallbacks = synth.batches, synth.fallbacks
    out.skipped = synth.skipped
    return out


def curate_all(ws: Workspace, sel: Selection, found: Findings, texts: Texts, config: Config,
               opts: DreamOptions) -> tuple[Curated, list[Operation]]:
    """Playbook operations (dedupe, counts, retire, merge, budget) and memory operations."""
    # an entry "stopped recurring" only on evidence from every session, as a memory note is stale (below):
    # an explicit selection (--since/--session/--task) read a part, and proposes no stale retirement
    whole = sel.mode != "explicit"
    curated = curate(ws, sel.playbook, texts.fresh, texts.texts, found.agg, token_budget=config.dream.token_budget,
                     extra_ops=texts.extra_ops, add_fields=texts.add_fields, name=sel.name, latest=found.read.latest,
                     sessions_read=len(found.read.ids) if whole else 0)
    curated.dropped.extend({"key": k, "why": "the model did not propose it", "reason": "model_declined"}
                           for k in texts.skipped)
    if not found.read.ids:  # no session read (a misspelt --task): nothing to propose for the store either
        return curated, curated.operations
    reference = _parse(found.read.latest) or opts.now or datetime.now(UTC)
    # a note is stale only on evidence from every session: the new ones on top of the stored patterns,
    # or --all; an explicit selection (--since/--session/--task) saw a part and would call used notes unused
    mem_ops, _notes = memory_operations(ws, opts.memory_store, found.agg, reference=reference,
                                        judge_stale=whole and not found.agg.other_scopes)
    return curated, curated.operations + mem_ops


def lint(operations: list[Operation], curated: Curated, config: Config) -> tuple[list[Operation], list[LintFinding]]:
    """Lint every operation, then redact them all (built-in rules included: logs were redacted when
    written, perhaps before today's patterns, but memory notes and playbook text were not, and a
    retire carries the text it removes). Returns the operations and the proposal-level findings."""
    from dreamcli.redaction import for_config

    for op in operations:
        op.lint = lint_operation(op, config)
    redactor = for_config(config)
    redacted = [Operation.model_validate(redactor.redact_obj(op.to_json())) for op in operations]
    findings = []
    if curated.tokens_after > config.dream.token_budget:
        findings.append(LintFinding(
            severity="warn", rule="token-budget",
            message=f"the playbook would be about {curated.tokens_after} tokens, over its budget of "
                    f"{config.dream.token_budget}; retire or merge entries"))
    return redacted, findings


def build_proposal(sel: Selection, dream_id: str, created: str, operations: list[Operation],
                   findings: list[LintFinding], curated: Curated, config: Config, opts: DreamOptions) -> Proposal:
    return Proposal(dream_id=dream_id, created=created, playbook=sel.name,
                    base_version=sel.playbook.version if sel.playbook is not None else 0,
                    memory_store=opts.memory_store, operations=operations, lint=findings,
                    budget=Budget(token_budget=config.dream.token_budget, tokens_after=curated.tokens_after,
                                  tokens_before=curated.tokens_before))


def dream_record(sel: Selection, found: Findings, texts: Texts, proposal: Proposal, opts: DreamOptions,
                 started: float, dropped: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """dream.json: the dream object (docs/proposal-format.md); `dropped`: the candidates curation left out."""
    read = found.read
    return {
        "v": 1, "dream_id": proposal.dream_id, "status": "pending" if proposal.operations else "empty",
        "created": proposal.created, "playbook": sel.name, "memory_store": opts.memory_store,
        "offline": sel.offline, "instructions": opts.instructions,
        "inputs": {"selection": selection_words(opts), "sessions": len(read.ids), "episodes": len(read.episodes),
                   "bytes": found.bytes, "graded": found.graded, "deferred": len(read.deferred),
                   "out_of_scope": read.out_of_scope, "skipped_lines": found.skipped_lines,
                   "hidden_characters": read.hidden, "unreadable": len(read.unreadable),
                   **({"trials": read.trials} if read.trials else {})},  # pilot and --with-proposal runs left out
        "flaky": [{"key": c.key, "text": offline_text(c), "test": c.facts.get("test"), "failed": c.support,
                   "retried": c.facts.get("retried", 0), "passed_elsewhere": c.facts.get("passed_elsewhere", 0),
                   "sources": c.sources[:5]} for c in found.flaky],
        "usage": texts.usage,
        "stats": {"patterns": len(found.agg.patterns), "candidates": len(texts.ranked),
                  "fresh_candidates": len(texts.fresh), "operations": len(proposal.operations),
                  "model_batches": texts.batches, "model_fallbacks": texts.fallbacks,
                  "not_proposed": not_proposed_counts(dropped or []),
                  "duration_s": round(time.monotonic() - started, 3)},
    }


def near_misses(found: Findings, config: Config, opts: DreamOptions) -> list[str]:
    """Patterns one episode short of the support threshold (not at 2: those are one-offs)."""
    min_support = opts.min_support or config.dream.min_support
    if min_support <= 2:
        return []
    below = build_candidates(found.agg, min_support=min_support - 1, new_episodes=found.read.episodes)
    return [offline_text(c) for c in below if c.support == min_support - 1 and c.fresh and c.kind != "flaky"][:5]


def remember(agg: Aggregates, fresh: list[Candidate], operations: list[Operation], dream_id: str) -> None:
    """Record which patterns this dream proposed, so later dreams do not propose them again."""
    by_key = {c.key: c for c in fresh}
    for op in operations:
        if not op.signature:
            continue
        record = {"entry_id": op.entry_id, "dream_id": dream_id, "support": op.support.sessions}
        cand = by_key.get(op.signature)
        for key in cand.pattern_keys if cand is not None else [op.signature]:
            agg.proposed[key] = record


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def selection_words(opts: DreamOptions) -> str:
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
