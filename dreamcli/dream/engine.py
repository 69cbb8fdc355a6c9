"""`run_dream`: one dream from inputs to a written proposal (the CLI holds the workspace lock).

    select -> scan -> aggregate -> synthesize -> curate -> lint -> write -> state

The stages are `dreamcli.dream.stages`; this module chains them and owns the last two steps:
the dream's directory is written atomically, and the state (aggregates and the watermark) is staged,
then installed after the proposal is safely on disk, under an intent (dreamcli.dream.journal) that
the next dream finishes or undoes if this one is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.collector import frozen
from dreamcli.config import Config
from dreamcli.dream import journal as dream_journal
from dreamcli.dream import stages
from dreamcli.dream.memory import check_store_name
from dreamcli.dream.options import DreamOptions, check_instructions
from dreamcli.dream.proposal import clean_stale_tmp, write_dream
from dreamcli.dream.report import render_report
from dreamcli.dream.stages import Findings, Progress, Selection
from dreamcli.dream.watermark import Watermark, save_aggregates, save_watermark, trim_arrivals
from dreamcli.ids import new_ulid
from dreamcli.playbooks.proposal_model import Operation
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line
from dreamcli.workspace.home import Workspace

__all__ = ["DreamOptions", "DreamResult", "Progress", "dream_summary", "run_dream"]



@dataclass
class DreamResult:
    status: str  # pending | empty | nothing_new | dry_run
    playbook: str
    dream_id: str | None = None
    path: Path | None = None
    operations: list[Operation] = field(default_factory=list)
    dream: dict[str, Any] = field(default_factory=dict)
    report: str = ""
    set_aside: list[str] = field(default_factory=list)  # state files no dream wrote: every session read again
    rebuilt: str | None = None  # why the stored patterns were not loaded but rebuilt (dreamcli.dream.older_state)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "playbook": self.playbook, "dream_id": self.dream_id,
                "path": str(self.path) if self.path else None,
                "operations": [op.to_json() for op in self.operations],
                "usage": self.dream.get("usage"), "inputs": self.dream.get("inputs"), "stats": self.dream.get("stats"),
                "state_set_aside": self.set_aside, "state_rebuilt": self.rebuilt}


def run_dream(ws: Workspace, config: Config, opts: DreamOptions, progress: Progress | None = None, *,
              on_warning: Callable[[str], None] | None = None) -> DreamResult:
    """One dream; `progress` follows the reading of the sessions ("read": bytes) and the model's batches
    ("propose": batches answered, told before each and at the end), `on_warning` is told each session file that
    could not be read (the CLI says it in a `warning:` line; the dream goes on without it)."""
    with frozen():  # what lives before the dream (modules, config) stays out of its collections
        return _run_dream(ws, config, opts, progress, on_warning)


def _run_dream(ws: Workspace, config: Config, opts: DreamOptions, progress: Progress | None,
               on_warning: Callable[[str], None] | None) -> DreamResult:
    started = time.monotonic()
    check_instructions(opts.instructions)
    check_store_name(ws, opts.memory_store)
    if not opts.dry_run:  # --dry-run writes and deletes nothing, not even stale temp directories
        dream_journal.recover(ws)  # a dream killed mid-publish: roll it forward or back first
        clean_stale_tmp(ws)
    sel = stages.select(ws, config, opts)
    if not opts.dry_run:
        for problem in sel.set_aside:
            _log(ws, f"dream playbook={sel.name} state set aside ({problem[:200]}): reading every session again")
        if sel.rebuild is not None:
            _log(ws, f"dream playbook={sel.name} state {sel.rebuild}: rebuilding it from the sessions")
    if sel.nothing_new():
        stages.settle_nothing_new(ws, sel, opts.dry_run)
        if not opts.dry_run:
            trim_arrivals(ws)
            _log(ws, f"dream playbook={sel.name} status=nothing_new")
        return DreamResult(status="nothing_new", playbook=sel.name, set_aside=sel.set_aside)

    found = stages.scan(ws, sel, opts, progress, on_warning)
    ranked, fresh = stages.aggregate(found, config, opts)
    texts = stages.synthesize(ws, sel, found, ranked, fresh, config, opts, progress)
    curated, operations = stages.curate_all(ws, sel, found, texts, config, opts)
    operations, findings = stages.lint(operations, curated, config)

    dream_id = new_ulid()
    proposal = stages.build_proposal(sel, dream_id, now_rfc3339(), operations, findings, curated, config, opts)
    from dreamcli.redaction import for_config

    redactor = for_config(config)
    dream = stages.dream_record(sel, found, texts, proposal, opts, started, dropped=curated.dropped)
    if dream["instructions"]:  # the model was sent them redacted (synthesis): dream.json and --json hold the same
        dream["instructions"] = redactor.redact_text(dream["instructions"])
    report = render_report(dream=dream, proposal=proposal, dropped=curated.dropped,
                           near_misses=stages.near_misses(found, config, opts))
    report = redactor.redact_text(report)
    result = DreamResult(status=dream["status"], playbook=sel.name, dream_id=dream_id, operations=operations,
                         dream=dream, report=report, set_aside=sel.set_aside, rebuilt=sel.rebuild)
    if opts.dry_run:  # no id: the dream that writes gets its own, and so do the entries it adds
        result.status, result.dream_id = "dry_run", None
        return result
    publish = bool(operations or found.read.ids or found.graded)
    if not publish:  # only other playbooks' sessions (or still-running ones) were new: no dream to review
        result.status, result.dream_id = "nothing_new", None
    stages.remember(found.agg, fresh, operations, dream_id)
    found.agg.commit_entry_use()
    # publish as one transaction (dreamcli.dream.journal): stage the state, intent, proposal, install
    staged = dream_journal.staged_dir(ws, sel.name, f"{dream_id}-{os.getpid()}")
    try:
        _save_state(ws, sel, found, result, into=staged)
        supersedes = dream_journal.superseded_by(ws, proposal) if publish else []
        intent = dream_journal.begin(ws, sel.name, result.dream_id, staged, supersedes)
    except BaseException:  # no intent names it yet: ours to remove (a kill is swept by the next command)
        shutil.rmtree(staged, ignore_errors=True)
        raise
    if publish:
        result.path = write_dream(ws, dream_id, proposal=proposal, dream=dream, report=report)
    dream_journal.finish(ws, intent, sel.name, result.dream_id, staged, supersedes)
    trim_arrivals(ws)  # once every playbook's watermark is past each line of it
    _log(ws, f"dream {result.dream_id or '-'} playbook={sel.name} mode={sel.mode} sessions={len(found.read.ids)} "
             f"ops={len(operations)} status={result.status}{_held(dream)} offline={sel.offline} "
             f"model_calls={texts.usage['model_calls']} duration={dream['stats']['duration_s']}s")
    return result


def _save_state(ws: Workspace, sel: Selection, found: Findings, result: DreamResult, *, into: Path) -> None:
    """Aggregates and the watermark, staged in `into` (installed by dreamcli.dream.journal)."""
    if sel.mode in ("new", "all"):
        mark = sel.mark
        save_aggregates(ws, sel.name, found.agg, into=into)
        if sel.last_id:
            mark.last_session_id = max(mark.last_session_id or "", sel.last_id)
        mark.deferred = found.read.deferred
        mark.grades_offset = found.grades_read
        mark.take_arrivals()  # from the start of the file when it was truncated or replaced (a lower offset)
        mark.dream_id = result.dream_id or mark.dream_id
        mark.sessions_dreamed += len(found.read.ids)
        save_watermark(ws, mark, into=into)
    else:
        found.stored.proposed.update(found.agg.proposed)
        found.stored.entry_use = found.agg.entry_use
        if found.stored.rebuild is not None:  # not trusted: its records by text kept as digests for the rebuild
            from dreamcli.dream.older_state import hold

            hold(found.stored)
        save_aggregates(ws, sel.name, found.stored, into=into)
        if sel.rebuild is not None or sel.set_aside:  # the stored patterns were dropped (an older release's, or
            # a file set aside as unreadable): the next dream reads every session, or theirs would be lost
            save_watermark(ws, Watermark(playbook=sel.name), into=into)


def _held(dream: dict[str, Any]) -> str:
    """` held=N` for the log line: the patterns that recurred but were not proposed; "" when none."""
    n = sum(((dream.get("stats") or {}).get("not_proposed") or {}).values())
    return f" held={n}" if n else ""


def _log(ws: Workspace, message: str) -> None:
    with contextlib.suppress(OSError):
        append_line(ws.logs_dir / "dream.log", f"{now_rfc3339()} {message}")


def dream_summary(result: DreamResult) -> dict[str, Any]:
    return json.loads(json.dumps(result.to_json(), default=str))
