"""Issue 8 benchmark: one lead delegating 200 sub-agents, 200 ms model latency, concurrency 16.

`dreamcli run task.yaml --quiet --json` (the installed command, a fresh process per run) against
the fake Anthropic server in its own process, every reply 200 ms late. The lead's first turn is one
`delegate` call with 200 briefs; each sub-agent answers in one turn; the lead then answers. Config
`limits.concurrency: 16`. Measured per run:

- wall: the whole command, start-up and the lead's two model calls included;
- sub-agent phase: the `delegate` tool call (its duration in the lead's log): 200 sessions started,
  logged (201 files, fsynced) and their answers merged; the floor is ceil(200/16) x 200 ms = 2.6 s;
- peak RSS of the dreamcli process (wait4), and the most model calls in flight at once (server side).

Run from the repo root: `python bench/bench_multiagent.py [--runs 3] [--subagents 200]`.
Writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LATENCY_S = 0.2
CONCURRENCY = 16
WALL_TARGET_S = 4.0
RSS_TARGET_MB = 500


def serve(subagents: int) -> None:
    """The fake server process; prints its URL, then on stdin EOF the request timings as JSON."""
    from dreamcli.orchestration.subagents import SUBAGENT_PREAMBLE
    from dreamcli.testing import FakeAnthropic, content_text, text_reply, tool_reply, tool_use

    usage = {"input_tokens": 800, "output_tokens": 40}

    def responder(req: Any) -> Any:
        first = content_text(req.messages[0].get("content"))
        if first.startswith(SUBAGENT_PREAMBLE):
            return text_reply(f"pipeline {first[len(SUBAGENT_PREAMBLE):]}: 1 failure (dependency timeout)", usage=usage)
        if sum(1 for m in req.messages if m.get("role") == "assistant") == 0:
            briefs = [{"brief": f"log-{i:03d}.log: report the failing step"} for i in range(subagents)]
            return tool_reply(tool_use("delegate", {"tasks": briefs}), usage=usage)
        return text_reply(f"{subagents} logs triaged.", usage=usage)

    server = FakeAnthropic().start()
    server.latency = LATENCY_S
    server.validate_requests = False  # 400 requests per run: keep the server's own CPU out of the way
    server.responder = responder
    print(server.url, flush=True)
    sys.stdin.read()
    timings = [[r.t_start, r.t_end or r.t_start] for r in server.requests]
    print(json.dumps({"requests": timings, "unexpected": len(server.unexpected)}), flush=True)
    server.stop()


def max_in_flight(intervals: list[list[float]]) -> int:
    points = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda p: (p[0], p[1]))
    live = best = 0
    for _, step in points:
        live += step
        best = max(best, live)
    return best


def one_run(url: str, subagents: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir(mode=0o700)
        limits = f"limits:\n  concurrency: {CONCURRENCY}\n  max_subagents: {max(subagents, 50)}\n"
        (home / "config.yaml").write_text(limits)  # the default cap of sub-agents per lead is 50
        work = Path(tmp) / "work"
        work.mkdir()
        task = Path(tmp) / "task.yaml"
        task.write_text("name: bench-triage\nprompt: Triage the logs with sub-agents.\nworkdir: work\n"
                        "tools: [read, grep, delegate]\nmax_turns: 4\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DREAMCLI_"))}
        env.update(ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY="sk-ant-bench", DREAMCLI_HOME=str(home), NO_COLOR="1")
        exe = str(Path(sys.executable).parent / "dreamcli")
        out_path, err_path = Path(tmp) / "out.json", Path(tmp) / "err.txt"
        with out_path.open("wb") as out_f, err_path.open("wb") as err_f:
            t0, epoch0 = time.perf_counter(), time.time()
            proc = subprocess.Popen([exe, "run", str(task), "--quiet", "--json"], env=env, stdout=out_f,
                                    stderr=err_f, stdin=subprocess.DEVNULL)
            _, status, rusage = os.wait4(proc.pid, 0)  # this child's own peak RSS
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"run failed ({proc.returncode}): {err_path.read_text()[-2000:]}")
        out = out_path.read_text()
        result = json.loads(out)
        assert result["status"] == "completed", result
        logs = list((home / "sessions").rglob("*.jsonl"))
        lead_log = Path(result["path"])
        events = [json.loads(line) for line in lead_log.read_text().splitlines()]
        delegate = next(e for e in events if e["type"] == "tool" and e["name"] == "delegate")
        finished = [e for e in events if e["type"] == "subagent" and e["event"] == "finished"]
        assert len(logs) == subagents + 1 and len(finished) == subagents
        assert all(e["status"] == "completed" for e in finished)
        started = datetime.fromisoformat(events[0]["ts"].replace("Z", "+00:00")).timestamp()
        return {"wall": wall, "phase": delegate["duration_ms"] / 1000, "rss_mb": rusage.ru_maxrss / 1024,
                "startup": started - epoch0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--subagents", type=int, default=200)
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    from bench._report import machine, write_section

    runs: list[dict[str, Any]] = []
    in_flight: list[int] = []
    for _ in range(args.runs):  # a fresh server per run, so its timings are this run's
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(args.subagents)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            url = server.stdout.readline().strip()  # type: ignore[union-attr]
            runs.append(one_run(url, args.subagents))
        finally:
            server.stdin.close()  # type: ignore[union-attr]
            report = json.loads(server.stdout.readline())  # type: ignore[union-attr]
            server.wait(timeout=20)
        assert report["unexpected"] == 0
        child_reqs = sorted(report["requests"])[1:-1]  # the lead's two calls are the first and the last
        in_flight.append(max_in_flight(child_reqs))

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    floor = math.ceil(args.subagents / CONCURRENCY) * LATENCY_S
    wall, phase, rss = med("wall"), med("phase"), max(r["rss_mb"] for r in runs)
    lines = [
        "## multiagent: 200 sub-agents under a concurrency limit (issue 8)",
        "",
        f"Machine: {machine()} (2 cores shared with other work). `python bench/bench_multiagent.py`: "
        f"{args.runs} runs of `dreamcli run task.yaml --quiet --json` (a fresh process each) whose lead "
        f"delegates {args.subagents} one-turn sub-agents in one call; the fake server (own process) "
        f"answers every request after {LATENCY_S * 1000:.0f} ms; `limits.concurrency: {CONCURRENCY}`.",
        "",
        "| measure | median | target |",
        "| --- | ---: | ---: |",
        f"| wall of the {args.subagents} sub-agents (the delegate call: {args.subagents} sessions started, "
        f"logged, answers merged) | {phase:.2f} s | <= {WALL_TARGET_S:.0f} s (floor {floor:.1f} s) |",
        f"| wall, whole command (start-up, 2 lead model calls, sub-agents, exit) | {wall:.2f} s | - |",
        f"| of which start-up to the lead's session.start (Python, `import anthropic`, config) | "
        f"{med('startup'):.2f} s | - |",
        f"| peak RSS of the dreamcli process (max of runs) | {rss:.0f} MB | <= {RSS_TARGET_MB} MB |",
        f"| model calls in flight at once (server side) | {max(in_flight)} | {CONCURRENCY} |",
        "",
        f"Sub-agent phase / floor: {phase / floor:.2f}x (per sub-agent overhead over the model latency: "
        f"{(phase - floor) / math.ceil(args.subagents / CONCURRENCY) * 1000:.0f} ms per wave of {CONCURRENCY}). "
        f"Wall target (sub-agents) {'met' if phase <= WALL_TARGET_S else 'NOT met'}; RSS target "
        f"{'met' if rss <= RSS_TARGET_MB else 'NOT met'}. Runs: "
        + ", ".join(f"{r['wall']:.2f} s / {r['phase']:.2f} s / {r['rss_mb']:.0f} MB" for r in runs) + ".",
    ]
    text = "\n".join(lines)
    print(text)
    write_section("multiagent", text)


if __name__ == "__main__":
    main()
