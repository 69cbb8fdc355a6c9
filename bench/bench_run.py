"""Issue 3 benchmark: `dreamcli run` loop overhead per turn, model latency excluded.

A 100-turn session (99 `read` tool calls, then a final answer) against the fake Anthropic server at
zero latency, run in a separate process so it does not share the GIL with the loop. Per turn:

- total: from one model request to the next (everything);
- model call: inside the SDK's streamed call (HTTP, SSE parsing, the fake server's work);
- loop overhead: the rest -- logging the response, running the tool, logging its result, building
  the next request. This is what the target (median <= 10 ms) is about.

Run from the repo root: `python bench/bench_run.py [--sessions N]`. Writes docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TURNS = 100


def serve() -> None:
    """The fake server process: tool calls until the history holds TURNS assistant messages."""
    from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use

    def responder(req: Any) -> Any:
        done = sum(1 for m in req.messages if m.get("role") == "assistant")
        if done + 1 >= TURNS:
            return text_reply("All files read.", usage={"input_tokens": 1000, "output_tokens": 10})
        return tool_reply(tool_use("read", {"file_path": "notes.txt"}), text="Reading notes.txt again.",
                          usage={"input_tokens": 1000, "output_tokens": 30})

    server = FakeAnthropic().start()
    server.responder = responder
    print(server.url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


class TimedClient:
    """Wraps the SDK client to timestamp the start of every model call."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.messages = self
        self.starts: list[float] = []

    def stream(self, **kwargs: Any) -> Any:
        self.starts.append(time.perf_counter())
        return self._client.messages.stream(**kwargs)


def one_session(ws: Any, workdir: Path) -> tuple[list[float], list[float], list[float], Any]:
    from dreamcli.agent import RunOptions, prompt_spec, run_agent
    from dreamcli.agent.results import RunResult
    from dreamcli.config import Config
    from dreamcli.modelclient import make_client

    config = Config()
    client = TimedClient(make_client(max_retries=0))
    result: RunResult = run_agent(ws, config, prompt_spec("Read notes.txt a hundred times."),
                                  RunOptions(workdir=workdir, max_turns=TURNS, use_playbooks=False),
                                  client=client)
    assert result.status == "completed" and result.totals.turns == TURNS, (result.status, result.error)
    import json

    latencies = [json.loads(line).get("latency_ms") for line in result.path.read_text().splitlines()]
    latencies = [x / 1000 for x in latencies if x is not None]
    starts = client.starts
    totals, models, overheads = [], [], []
    for i in range(len(starts) - 1):
        total = starts[i + 1] - starts[i]
        totals.append(total * 1000)
        models.append(latencies[i] * 1000)
        overheads.append((total - latencies[i]) * 1000)
    return totals, models, overheads, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return

    from bench._report import machine, peak_rss_mb, write_section
    from dreamcli.workspace.home import Workspace

    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        url = server.stdout.readline().strip()  # type: ignore[union-attr]
        os.environ["ANTHROPIC_BASE_URL"] = url
        os.environ["ANTHROPIC_API_KEY"] = "sk-ant-bench"
        with tempfile.TemporaryDirectory() as tmp:
            ws = Workspace(Path(tmp) / "home", "option").ensure()
            workdir = Path(tmp) / "wd"
            workdir.mkdir()
            (workdir / "notes.txt").write_text("a short file the agent reads every turn\n" * 20)
            one_session(ws, workdir)  # warm-up: imports, first connection
            totals: list[float] = []
            models: list[float] = []
            overheads: list[float] = []
            early: list[float] = []
            late: list[float] = []
            t0 = time.perf_counter()
            for _ in range(args.sessions):
                t, m, o, result = one_session(ws, workdir)
                totals += t
                models += m
                overheads += o
                early += o[:10]
                late += o[-10:]
            wall = time.perf_counter() - t0
            log_kb = result.path.stat().st_size / 1024
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    def p90(xs: list[float]) -> float:
        return statistics.quantiles(xs, n=10)[-1]

    rss = peak_rss_mb()
    n = len(overheads)
    lines = [
        "## run: agent loop overhead per turn (issue 3)",
        "",
        f"Machine: {machine()} (2 cores shared with other work). {args.sessions} sessions of {TURNS} turns "
        f"(99 `read` tool calls + a final answer) against the fake server at zero latency in its own process, "
        f"after one warm-up session; {n} turn intervals measured. `python bench/bench_run.py`.",
        "",
        "| per turn | median ms | p90 ms |",
        "| --- | ---: | ---: |",
        f"| loop overhead (log response, run `read`, log result, build request) | {med(overheads):.2f} | "
        f"{p90(overheads):.2f} |",
        f"| model call (SDK streaming + HTTP + fake server) | {med(models):.2f} | {p90(models):.2f} |",
        f"| total, request to request | {med(totals):.2f} | {p90(totals):.2f} |",
        "",
        f"Loop overhead, turns 1-10 vs 90-99 (history of 2 vs 180+ messages): median {med(early):.2f} ms vs "
        f"{med(late):.2f} ms. Target: loop overhead median <= 10 ms -- "
        f"{'met' if med(overheads) <= 10 else 'NOT met'}.",
        "",
        f"Peak RSS of the process running the loop: {rss:.0f} MB. Wall time {wall:.1f} s for "
        f"{args.sessions * TURNS} turns; one 100-turn session log is {log_kb:.0f} KB.",
    ]
    text = "\n".join(lines)
    print(text)
    write_section("run", text)


if __name__ == "__main__":
    main()
