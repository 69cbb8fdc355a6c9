"""Issue 16 benchmark: `dreamcli pilot`'s own cost over plain runs of the same task.

A three-turn task (read a file, write summary.md, answer) graded by a checks-only outcome spec; the
fake Anthropic server runs in its own process (no shared GIL) and answers SOLVED when the proposed
entry is in the system prompt, else half of the time. Two measures:

1. Overhead per trial. In one process, alternating: R rounds of `run_agent` N times in a row with the
   task's revision loop (what `dreamcli run task.yaml` does per run, CLI start-up aside), and
   `dreamcli.pilot.api.execute` of N/2 trials per arm with `--parallel 1`. Per trial: the pilot's
   wall divided by its trials, against the runs' wall divided by N. At zero model latency (the
   pilot's own work is then most visible) and at LATENCY_MS per model call.
2. Wall of 2 arms x 20 trials at LATENCY_MS with `--parallel 8`: the installed `dreamcli pilot`
   command against `dreamcli run` of the same 40 runs as 40 task files with `--parallel 8`
   (the baseline, measured in the same run), a fresh workspace and server each time.

Run from the repo root: `python bench/bench_pilot.py [--rounds 5] [--runs 3]`. Writes its section
of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LATENCY_MS = 200
TURNS = 3
MARKER = "Quote notice periods exactly"
DREAM = "01JD3Z0000000000000000BNCH"
OVERHEAD_TARGET = 0.05


def serve(latency_ms: int) -> None:
    """The fake server process: prints its URL, serves until stdin closes."""
    import random
    import threading

    from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use

    lock = threading.Lock()
    rng = random.Random(1)
    usage = {"input_tokens": 1500, "output_tokens": 60}

    def responder(req: Any) -> Any:
        done = sum(1 for m in req.messages if m.get("role") == "assistant")
        if done == 0:
            return tool_reply(tool_use("read", {"file_path": "contract.txt"}), usage=usage)
        if done == 1:
            return tool_reply(tool_use("write", {"file_path": "summary.md", "content": "9.2: 30 days\n"}), usage=usage)
        with lock:
            ok = MARKER in req.system_text or rng.random() < 0.5
        return text_reply("SOLVED: 9.2, 30 days." if ok else "Not sure.", usage=usage)

    server = FakeAnthropic().start()
    server.latency = latency_ms / 1000
    server.validate_requests = False
    server.responder = responder
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


class Server:
    def __init__(self, latency_ms: int) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(latency_ms)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(timeout=20)


def make_home(tmp: Path) -> tuple[Path, Path]:
    """A workspace with a live playbook and a dream proposing one entry, and a task file."""
    from dreamcli.workspace.home import Workspace
    from tests.support.playbooks import op, write_dream, write_playbook

    ws = Workspace(tmp / "home", "option").ensure_layout()
    write_playbook(ws, "default", [("pb-live0001", "Tools", "Use pandoc for docx.")], version=2)
    write_dream(ws, DREAM, "default", [op("pb-bench001", text=MARKER + ", with the section number.")],
                base_version=2)
    work = tmp / "work"
    work.mkdir()
    (work / "contract.txt").write_text("Section 9.2: either party may terminate with 30 days notice.\n" * 20)
    (tmp / "outcome.yaml").write_text("name: bench-outcome\nmax_iterations: 1\ncriteria:\n"
                                      "  - id: solved\n    check: {type: contains, value: SOLVED}\n"
                                      "  - id: summary\n    check: {type: file_exists, in: summary.md}\n")
    task = tmp / "task.yaml"
    task.write_text("name: bench-contract\nprompt: List the termination clauses in summary.md.\nworkdir: work\n"
                    "outcome: outcome.yaml\ntools: [read, write]\nmax_turns: 5\n")
    return ws.root, task


def overhead(url: str, rounds: int, n: int) -> dict[str, Any]:
    """Per-trial wall of plain runs and of pilot trials, in one process, alternating."""
    os.environ.update(ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-bench")
    from dreamcli.agent import RunOptions, load_task_file, run_agent
    from dreamcli.config import load_config
    from dreamcli.modelclient import make_client
    from dreamcli.outcomes.revision import revision_loop_for
    from dreamcli.pilot.api import execute, prepare
    from dreamcli.workspace.home import Workspace

    runs, trials = [], []
    with tempfile.TemporaryDirectory() as tmp:
        home, task = make_home(Path(tmp))
        ws = Workspace(home, "option")
        cfg = load_config(ws.config_path)
        client = make_client(max_retries=2, timeout=60)
        spec = load_task_file(task)
        for r in range(rounds + 1):  # round 0 warms up both paths
            t0 = time.perf_counter()
            for _ in range(n):
                loop = revision_loop_for(ws, cfg, spec.outcome)
                assert loop is not None
                run_agent(ws, cfg, spec, RunOptions(), client=client, on_end_turn=loop.on_end_turn,
                          before_end=loop.before_end)
            per_run = (time.perf_counter() - t0) / n
            t0 = time.perf_counter()
            prep = prepare(ws, cfg, [task], DREAM, trials=n // 2, fresh=True)
            result = execute(ws, cfg, prep, parallel=1, client=client)
            per_trial = (time.perf_counter() - t0) / n
            assert sum(a["trials"] for a in result["arms"]) == n, result["arms"]
            if r:
                runs.append(per_run)
                trials.append(per_trial)
    run_ms, trial_ms = statistics.median(runs) * 1000, statistics.median(trials) * 1000
    return {"run_ms": run_ms, "trial_ms": trial_ms, "ratio": trial_ms / run_ms,
            "rounds": [(a * 1000, b * 1000) for a, b in zip(runs, trials, strict=True)]}


def _cli(args: list[str], env: dict[str, str]) -> float:
    exe = str(Path(sys.executable).parent / "dreamcli")
    t0 = time.perf_counter()
    proc = subprocess.run([exe, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):  # 1: some plain runs failed their outcome (half do, by design)
        raise SystemExit(f"{args[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall


def wall_40(url: str, pilot_first: bool) -> dict[str, float]:
    """The pilot command (2 arms x 20 trials, --parallel 8) and 40 plain runs with --parallel 8 (which
    goes first alternates between runs, so drift in the machine's load hits both alike)."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        home, task = make_home(Path(tmp))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DREAMCLI_"))}
        env.update(ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-bench", DREAMCLI_HOME=str(home), NO_COLOR="1")
        copies = []
        for i in range(40):
            copy = task.parent / f"task-{i:02d}.yaml"
            shutil.copy(task, copy)
            copies.append(str(copy))
        commands = {"run": ["run", *copies, "--parallel", "8", "--quiet", "--json"],
                    "pilot": ["pilot", str(task), "--proposal", DREAM, "--trials", "20", "--parallel", "8",
                              "--yes", "--quiet", "--json"]}
        for name in (("pilot", "run") if pilot_first else ("run", "pilot")):
            out[name] = _cli(commands[name], env)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", type=int, default=-1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve >= 0:
        serve(args.serve)
        return
    from bench._report import machine, write_section

    over: dict[int, dict[str, Any]] = {}
    for latency in (0, LATENCY_MS):
        server = Server(latency)
        try:
            over[latency] = overhead(server.url, args.rounds, args.per_round)
        finally:
            server.close()
    walls = []
    for i in range(args.runs):  # a fresh server per run
        server = Server(LATENCY_MS)
        try:
            walls.append(wall_40(server.url, pilot_first=i % 2 == 1))
        finally:
            server.close()
    pilot_wall = statistics.median(w["pilot"] for w in walls)
    run_wall = statistics.median(w["run"] for w in walls)
    floor = math.ceil(40 / 8) * TURNS * LATENCY_MS / 1000
    z, l200 = over[0], over[LATENCY_MS]
    extra = l200["trial_ms"] - l200["run_ms"]
    lines = [
        "## pilot: overhead per trial and 2 arms x 20 trials (issue 16)",
        "",
        f"Machine: {machine()} (2 cores shared with other work). `python bench/bench_pilot.py`: a {TURNS}-turn "
        "task (read, write, answer) graded by a checks-only outcome; the fake server in its own process.",
        "",
        f"Overhead per trial: in one process, alternating, {args.rounds} rounds (after a warm-up round) of "
        f"{args.per_round} plain runs (`run_agent` with the task's revision loop, as `dreamcli run task.yaml` "
        f"does) and a pilot of {args.per_round // 2} trials per arm with `--parallel 1` (`pilot.api.execute`: "
        "workdir and memory copies, the supervisor, the journal, the statistics and pilot.json). Medians of the "
        "per-round means:",
        "",
        "| model latency | plain run | pilot trial | pilot / run | target |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| 0 ms (the pilot's own work at its most visible) | {z['run_ms']:.1f} ms | {z['trial_ms']:.1f} ms | "
        f"{z['ratio']:.3f}x | - |",
        f"| {LATENCY_MS} ms per model call | {l200['run_ms']:.1f} ms | {l200['trial_ms']:.1f} ms | "
        f"{l200['ratio']:.3f}x | <= {1 + OVERHEAD_TARGET:.2f}x |",
        "",
        f"The pilot's own cost is about {z['trial_ms'] - z['run_ms']:.1f} ms per trial at zero latency "
        f"({extra:.1f} ms at {LATENCY_MS} ms); overhead target (<= {OVERHEAD_TARGET:.0%} at a realistic model "
        f"latency) {'met' if l200['ratio'] <= 1 + OVERHEAD_TARGET else 'NOT met'}. Rounds (run / trial, ms): "
        + "; ".join(f"{a:.0f}/{b:.0f}" for a, b in z["rounds"]) + " at 0 ms; "
        + "; ".join(f"{a:.0f}/{b:.0f}" for a, b in l200["rounds"]) + f" at {LATENCY_MS} ms.",
        "",
        f"Wall of 2 arms x 20 trials, {LATENCY_MS} ms per model call, `--parallel 8` ({args.runs} runs, the "
        "installed command, a fresh workspace and server each; the baseline is `dreamcli run` of the same 40 "
        "runs as 40 task files with `--parallel 8`, measured in the same runs, which one first alternating):",
        "",
        "| command | median wall | ratio to baseline |",
        "| --- | ---: | ---: |",
        f"| `dreamcli run task-00.yaml ... task-39.yaml --parallel 8` (baseline) | {run_wall:.2f} s | 1.00x |",
        f"| `dreamcli pilot task.yaml --proposal D --trials 20 --parallel 8 --yes` | {pilot_wall:.2f} s | "
        f"{pilot_wall / run_wall:.2f}x |",
        "",
        f"Floor (5 waves of 8 trials x {TURNS} model calls x {LATENCY_MS} ms): {floor:.1f} s. Runs (pilot / run): "
        + ", ".join(f"{w['pilot']:.2f} s / {w['run']:.2f} s" for w in walls) + ".",
    ]
    text = "\n".join(lines)
    print(text)
    write_section("pilot", text)


if __name__ == "__main__":
    main()
