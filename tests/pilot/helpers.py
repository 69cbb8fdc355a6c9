"""Helpers for the pilot tests: a workspace with a live playbook and a dream proposing entries, a
task with a checks-only outcome, and a scripted agent whose success depends on whether an entry's
text is in its system prompt (random per trial, from fixed seeds)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dreamcli.testing import RecordedRequest, Reply, text_reply
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import op, write_dream, write_playbook

DREAM = "01JD3Z0000000000000000PLT1"
HELPS = "Quote notice periods exactly, with the section number."  # the entry that makes the agent succeed
NEUTRAL = "Prefer short sentences in the summary."  # an entry that changes nothing
USAGE = {"input_tokens": 1200, "output_tokens": 80}


def seed_workspace(ws: Workspace, *, entries: tuple[str, ...] = (HELPS,)) -> None:
    """Live playbook `default` v2 with one entry; DREAM proposes `entries` (pb-pilot001, pb-pilot002, ...)."""
    write_playbook(ws, "default", [("pb-live0001", "Tools", "Use pandoc for docx.")], version=2)
    ops = [op(f"pb-pilot{i + 1:03d}", text=text, section="Corrections") for i, text in enumerate(entries)]
    write_dream(ws, DREAM, "default", ops, base_version=2)


def write_task(root: Path, name: str = "contract-review", *, tools: str = "[read, write]") -> Path:
    """A task file with a workdir holding one file and a checks-only outcome (SOLVED in the answer)."""
    work = root / f"{name}-work"
    work.mkdir(parents=True, exist_ok=True)
    (work / "contract.txt").write_text("Section 9.2: either party may terminate with 30 days notice.\n")
    spec = root / f"{name}-outcome.yaml"
    spec.write_text(f"name: {name}-outcome\nmax_iterations: 1\ncriteria:\n"
                    "  - id: solved\n    check: {type: contains, value: SOLVED}\n")
    task = root / f"{name}.yaml"
    task.write_text(f"name: {name}\nprompt: List the termination clauses.\nworkdir: {work.name}\n"
                    f"outcome: {spec.name}\ntools: {tools}\nmax_turns: 3\n")
    return task


def scripted_agent(p_with: float, p_without: float, *, seed: int = 7, paired: bool = True,
                   marker: str = HELPS) -> Callable[[RecordedRequest], Reply]:
    """A one-turn agent: it answers SOLVED with probability p_with when `marker` is in its system
    prompt, else p_without. Draws come from seeded generators per condition; `paired` seeds both
    with the same seed, so (run one trial at a time) the j-th trial of each arm draws the same number."""
    lock = threading.Lock()
    rngs: dict[bool, random.Random] = {}

    def responder(req: RecordedRequest) -> Reply:
        has = marker in req.system_text
        with lock:
            rng = rngs.setdefault(has, random.Random(seed if paired else seed * 2 + int(has)))
            u = rng.random()
        ok = u < (p_with if has else p_without)
        return text_reply("SOLVED: section 9.2, 30 days." if ok else "I could not finish.", usage=USAGE)

    return responder


def entry_ids(n: int) -> list[str]:
    return [f"pb-pilot{i + 1:03d}" for i in range(n)]


def requests_by_arm(requests: list[RecordedRequest], marker: str = HELPS) -> dict[bool, int]:
    out = {True: 0, False: 0}
    for r in requests:
        out[marker in r.system_text] += 1
    return out


def config(ws: Workspace, text: str) -> None:
    (ws.root / "config.yaml").write_text(text)


def run_pilot_api(ws: Workspace, task: Path | list[Path], **kw: Any) -> dict[str, Any]:
    """prepare + execute in-process (no UI), through the real client against the fake server."""
    from dreamcli.config import load_config
    from dreamcli.pilot.api import execute, prepare

    cfg = load_config(ws.config_path)
    files = task if isinstance(task, list) else [task]
    run_kw = {k: kw.pop(k) for k in ("parallel", "max_cost") if k in kw}
    prep = prepare(ws, cfg, files, DREAM, **kw)
    return execute(ws, cfg, prep, **run_kw)
