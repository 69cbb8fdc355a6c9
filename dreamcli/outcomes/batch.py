"""`dreamcli grade --batch`: grader calls through the Message Batches API (half price, asynchronous).

The batch fills the grade cache; grading then runs as usual from the cache, with no direct model
calls. The batch id and what each request is for are saved under state/grade-batches/ before the
first poll, so an interrupted run (Ctrl-C, a lost terminal) resumes polling the same batch on the
next run instead of paying twice. A request the batch could not answer becomes a grader error for
its session (never cached), and the next run submits it again. A state file that cannot be read is set
aside (renamed `*.json.unreadable`) and the state of a batch the server does not know (404) is deleted,
each with a warning, so neither blocks later runs.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.errors import Interrupted
from dreamcli.models import cost_usd
from dreamcli.outcomes.evidence import load_run
from dreamcli.outcomes.grader import GraderError, parse_answer, usage_counts
from dreamcli.outcomes.grading import Grader
from dreamcli.outcomes.spec import OutcomeSpec
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import atomic_write_text

MAX_REQUESTS_PER_BATCH = 10_000
StatusCallback = Callable[[str, str, dict[str, int]], None]
WarningCallback = Callable[[str], None]


@dataclass
class BatchRun:
    submitted: list[str] = field(default_factory=list)  # batch ids created by this run
    resumed: list[str] = field(default_factory=list)  # batch ids of earlier, interrupted runs
    answered: int = 0
    errored: int = 0
    warnings: list[str] = field(default_factory=list)  # state set aside or dropped


def batches_dir(grader: Grader) -> Path:
    return grader.ws.state_dir / "grade-batches"


def _state_path(grader: Grader, batch_id: str) -> Path:
    return batches_dir(grader) / f"{batch_id}.json"


def pending_batches(grader: Grader, *, on_unreadable: WarningCallback | None = None) -> list[dict[str, Any]]:
    """The saved state of every unfinished batch; a file that is not such a state is set aside (renamed
    `*.json.unreadable`, kept for a person to look at) and named to `on_unreadable`."""
    out: list[dict[str, Any]] = []
    d = batches_dir(grader)
    if not d.is_dir():
        return out
    for p in sorted(d.glob("*.json")):
        try:
            state = json.loads(p.read_text(encoding="utf-8"))
            problem = _state_problem(state)
            if problem is None and state["batch_id"] != p.stem:
                problem = "names another batch"
        except (OSError, ValueError, RecursionError) as e:
            problem = f"cannot be read ({type(e).__name__})"
        if problem is None:
            out.append(state)
            continue
        if on_unreadable is not None:
            aside = p.with_name(p.name + ".unreadable")
            try:
                os.replace(p, aside)
                on_unreadable(f"batch state {p} {problem}: set aside as {aside.name}")
            except OSError as e:
                on_unreadable(f"batch state {p} {problem} and cannot be set aside ({e.strerror}): skipped")
    return out


def _state_problem(state: Any) -> str | None:
    """Why `state` is not a batch state this module wrote, or None."""
    if not isinstance(state, dict):
        return "is not a JSON object"
    batch_id = state.get("batch_id")
    if not isinstance(batch_id, str) or not batch_id or "/" in batch_id or len(batch_id) > 200:
        return "has no valid batch_id"
    items = state.get("items")
    if not isinstance(items, dict) or not all(
        isinstance(i, dict) and isinstance(i.get("key"), str) and isinstance(i.get("ids"), list)
        for i in items.values()
    ):
        return "has no valid items"
    return None


def run_batch(grader: Grader, jobs: list[tuple[Path, OutcomeSpec]], *, poll_interval: float = 10.0,
              on_status: StatusCallback | None = None, on_warning: WarningCallback | None = None) -> BatchRun:
    """Resume interrupted batches, then submit one for every grader trial not in the cache, and wait.
    Saved state that cannot be used is set aside or dropped with a warning (`on_warning`, and kept in
    `BatchRun.warnings`)."""
    summary = BatchRun()
    shown = on_warning or (lambda message: None)

    def warn(message: str) -> None:
        summary.warnings.append(message)
        shown(message)

    for state in pending_batches(grader, on_unreadable=warn):
        summary.resumed.append(state["batch_id"])
        if not _wait_and_collect(grader, state, poll_interval, on_status, summary):
            summary.resumed.remove(state["batch_id"])
            warn(f"batch {state['batch_id']} does not exist on the server: its saved state is dropped and "
                 "its requests are submitted again")
    items: dict[str, dict[str, Any]] = {}
    requests: list[dict[str, Any]] = []
    for path, spec in jobs:
        if not grader.needs_model(spec):
            continue
        try:
            run = load_run(path)
        except OSError:
            continue  # reported as an error by the grading pass
        evidence = grader.evidence(run, spec)
        params = None
        for key in grader.trial_keys(run, spec, evidence):
            custom_id = "g-" + key[:48]
            if custom_id in items or grader.cache.get(key, [c.id for c in spec.grader_criteria]) is not None:
                continue
            params = params or grader.request_params(spec, evidence)
            items[custom_id] = {"key": key, "session_id": run.session_id,
                                "ids": [c.id for c in spec.grader_criteria], "model": params["model"]}
            requests.append({"custom_id": custom_id, "params": params})
    for start in range(0, len(requests), MAX_REQUESTS_PER_BATCH):
        chunk = requests[start:start + MAX_REQUESTS_PER_BATCH]
        state = _submit(grader, chunk, {r["custom_id"]: items[r["custom_id"]] for r in chunk})
        summary.submitted.append(state["batch_id"])
        if not _wait_and_collect(grader, state, poll_interval, on_status, summary):
            from dreamcli.errors import ModelError

            raise ModelError(f"grader batch {state['batch_id']}: the server no longer knows the batch it created")
    return summary


def _submit(grader: Grader, requests: list[dict[str, Any]], items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from dreamcli.modelclient import api_error

    try:
        batch = grader.client().messages.batches.create(requests=requests)
    except Exception as e:
        raise api_error(e, what="grader batch") from None
    state = {"batch_id": batch.id, "created": now_rfc3339(), "items": items}
    atomic_write_text(_state_path(grader, batch.id), json.dumps(state, ensure_ascii=False))
    return state


def _wait_and_collect(grader: Grader, state: dict[str, Any], poll_interval: float,
                      on_status: StatusCallback | None, summary: BatchRun) -> bool:
    """Poll until the batch ends, then collect its results (True); False, with its state deleted, when
    the server says the batch does not exist (404)."""
    from dreamcli.modelclient import api_error

    batch_id = state["batch_id"]
    batches = grader.client().messages.batches
    try:
        while True:
            try:
                batch = batches.retrieve(batch_id)
            except Exception as e:
                if getattr(e, "status_code", None) == 404:
                    _state_path(grader, batch_id).unlink(missing_ok=True)
                    return False
                raise api_error(e, what=f"grader batch {batch_id}") from None
            counts = batch.request_counts.model_dump() if batch.request_counts is not None else {}
            if on_status is not None:
                on_status(batch_id, batch.processing_status, counts)
            if batch.processing_status == "ended":
                break
            time.sleep(poll_interval)
        try:
            results = batches.results(batch_id)
            for entry in results:
                _collect(grader, state["items"], entry, summary)
        except Exception as e:
            raise api_error(e, what=f"grader batch {batch_id} results") from None
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: batch {batch_id} keeps running; run the same command again to "
                          "resume it") from None
    _state_path(grader, batch_id).unlink(missing_ok=True)
    return True


def _collect(grader: Grader, items: dict[str, dict[str, Any]], entry: Any, summary: BatchRun) -> None:
    item = items.get(entry.custom_id)
    if item is None:
        return
    key = item["key"]
    result = entry.result
    if result.type != "succeeded":
        summary.errored += 1
        detail = ""
        if result.type == "errored":
            err = getattr(getattr(result, "error", None), "error", None)
            detail = f": {getattr(err, 'type', '')} {getattr(err, 'message', '')}".rstrip()
        grader.batch_errors[key] = f"batch request {result.type}{detail}"
        return
    message = result.message
    content = [b.model_dump() for b in message.content]
    usage = usage_counts(message.usage)
    try:
        verdicts = parse_answer(content, message.stop_reason, item["ids"], model=message.model or item["model"],
                                usage=usage)
    except GraderError as e:
        summary.errored += 1
        grader.batch_errors[key] = str(e)
        grader.batch_error_cost[key] = cost_usd(message.model or item["model"], usage, batch=True)  # billed
        return
    verdicts.batch = True
    grader.remember(key, verdicts)  # best-effort: a full disk does not throw the answer away
    verdicts.cached = True  # counted as answered by the batch, not as a direct call
    grader.batch_verdicts[key] = verdicts
    summary.answered += 1
