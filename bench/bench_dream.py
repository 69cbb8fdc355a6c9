"""Issue 5 benchmarks for `dreamcli dream`.

1. Offline dream over a generated corpus of 5,000 sessions (~250 MB): throughput (target >= 30 MB/s)
   and peak RSS (target <= 300 MB), then the same at 2x the corpus (10,000 sessions): RSS flat.
2. A second dream with nothing new over the 10,000 dreamed sessions: target <= 1 s (whole command).
3. With a model (the fake Anthropic server): input tokens sent <= 10% of the tokens in the dreamed
   sessions, counted from the requests the server received; model calls flat when sessions double
   and the patterns stay the same.

Each offline dream runs in its own child process (fresh state, `--all`), so its peak RSS is its own
(`ru_maxrss` of the dream process; scanning workers are reported separately). Run from the repo
root: `python bench/bench_dream.py [--runs N] [--sessions N] [--keep DIR]`. `--workers-only --before DIR` also
runs the tree at DIR (its children import that tree's dreamcli) in the same rounds.

`--workers-only` (about two minutes) measures only the scan against its baselines, as whole processes in
one run, interleaved: the CPU of an offline dream with one worker over the 1x corpus as a ratio to a
plain `json.loads` of every line of the same files (issue 22: <= 1.3x), and the speed-up of two workers
over one on the 2x corpus (>= 1.8x), with the map's share of the one-worker dream (the parallel
fraction) and the Amdahl bound it allows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if os.environ.get("DREAMCLI_BENCH_TREE"):  # `--before DIR`: the children import that tree's dreamcli
    sys.path.insert(0, os.environ["DREAMCLI_BENCH_TREE"])

# The children (`--child`, `--child-parse`) import only what they measure: the report writer and the corpus
# generator (which pulls in the fake Anthropic server) are imported where the parent uses them.

SIZE_KB = 52


def child_parse(home: str) -> None:
    """The baseline, in a child process: read every session file line by line and `json.loads` each."""
    n = 0
    for path in sorted(Path(home, "sessions").glob("*/*/*/*.jsonl")):
        with open(path, "rb") as f:
            for raw in f:
                json.loads(raw)
                n += 1
    print(json.dumps({"lines": n}))


def child_dream(home: str, workers: int | None = None) -> None:
    """Run inside a child process: one offline dream over everything, print measurements as JSON."""
    import contextlib
    import resource

    from dreamcli.config import load_config
    from dreamcli.dream import stages
    from dreamcli.dream.engine import DreamOptions, run_dream
    from dreamcli.dream.executors import LocalExecutor, use_executor
    from dreamcli.workspace.home import Workspace

    map_s = [0.0, 0.0]
    scan_files = stages.scan_files

    def timed_scan(*a: Any, **kw: Any) -> Any:  # the map (and its merge): the parallel part of a dream
        t, c = time.perf_counter(), time.process_time()
        try:
            return scan_files(*a, **kw)
        finally:
            map_s[0] += time.perf_counter() - t
            map_s[1] += time.process_time() - c

    stages.scan_files = timed_scan

    for var in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        os.environ.pop(var, None)
    ws = Workspace(root=Path(home), source="option")
    config = load_config(ws.config_path)
    t0 = time.perf_counter()
    with use_executor(LocalExecutor(workers)) if workers else contextlib.nullcontext():
        result = run_dream(ws, config, DreamOptions(all=True, offline=True))
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "seconds": seconds, "map_s": map_s[0], "map_cpu": map_s[1], "bytes": result.dream["inputs"]["bytes"],
        "sessions": result.dream["inputs"]["sessions"],
        "operations": len(result.operations), "candidates": result.dream["stats"]["candidates"],
        "pool_cpu": (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(resource.RUSAGE_CHILDREN)),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


def _reset(home: Path) -> None:
    shutil.rmtree(home / "dreams", ignore_errors=True)
    shutil.rmtree(home / "state" / "dream", ignore_errors=True)


def measured(argv: list[str], tree: Path | None = None) -> dict[str, Any]:
    """A whole child process: its wall time and CPU (with its own children: the scanning pool), and what
    it printed last (JSON). `tree`: the dreamcli code to import instead of this checkout's."""
    import resource

    env = {**os.environ, "DREAMCLI_BENCH_TREE": str(tree)} if tree is not None else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, check=True, cwd=ROOT,
                          env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "wall": wall, "cpu": cpu}


def _tree_name(tree: Path) -> str:
    """The tree's commit when it is a git checkout, else its folder's name."""
    out = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else tree.name


def workers_only(one: Path, two: Path, runs: int, before: Path | None = None) -> tuple[str, bool]:
    """Scan figures against their baselines, interleaved run by run (a loaded machine drifts); with `before`,
    that tree's dreams too, in the same rounds."""
    from bench._report import machine

    parse1: list[dict[str, Any]] = []
    dream1: list[dict[str, Any]] = []
    parse2: list[dict[str, Any]] = []
    w1: list[dict[str, Any]] = []
    w2: list[dict[str, Any]] = []
    old: dict[str, list[dict[str, Any]]] = {"1x": [], "w1": [], "w2": []}
    for _ in range(runs):
        parse1.append(measured(["--child-parse", str(one)]))
        _reset(one)
        dream1.append(measured(["--child", str(one), "--workers", "1"]))
        parse2.append(measured(["--child-parse", str(two)]))
        for out, n in ((w1, 1), (w2, 2)):
            _reset(two)
            out.append(measured(["--child", str(two), "--workers", str(n)]))
        if before is not None:
            _reset(one)
            old["1x"].append(measured(["--child", str(one), "--workers", "1"], before))
            for key, n in (("w1", 1), ("w2", 2)):
                _reset(two)
                old[key].append(measured(["--child", str(two), "--workers", str(n)], before))
    med = statistics.median
    cpu_ratio = med(d["cpu"] for d in dream1) / med(p["cpu"] for p in parse1)
    cpu_ratio2 = med(d["cpu"] for d in w1) / med(p["cpu"] for p in parse2)
    speedup = med(d["wall"] for d in w1) / med(d["wall"] for d in w2)
    speedup_dream = med(d["seconds"] for d in w1) / med(d["seconds"] for d in w2)
    fraction = med(d["map_s"] / d["wall"] for d in w1)  # the map's share of the whole one-worker process
    amdahl = 1 / ((1 - fraction) + fraction / 2)
    # what a quiet machine gives, from CPU times (a loaded one stretches wall times): the serial CPU of the
    # 2-worker process plus half its map CPU (this process and the pool share the chunks to the end)
    projected = med(d["cpu"] for d in w1) / med(
        (d["cpu"] - d["map_cpu"] - d["pool_cpu"]) + (d["map_cpu"] + d["pool_cpu"]) / 2 for d in w2)
    mb1, mb2 = dream1[0]["bytes"] / 1e6, w1[0]["bytes"] / 1e6
    rows = [
        ("1x corpus: offline dream, 1 worker, CPU / `json.loads` of every line, CPU",
         f"{med(d['cpu'] for d in dream1):.2f} s / {med(p['cpu'] for p in parse1):.2f} s = **{cpu_ratio:.2f}x** "
         f"({mb1:.0f} MB)", "<= 1.3x"),
        ("2x corpus: the same ratio", f"{med(d['cpu'] for d in w1):.2f} s / {med(p['cpu'] for p in parse2):.2f} s = "
         f"{cpu_ratio2:.2f}x ({mb2:.0f} MB)", "<= 1.3x"),
        ("2x corpus: 1 worker / 2 workers, whole process wall",
         f"{med(d['wall'] for d in w1):.2f} s / {med(d['wall'] for d in w2):.2f} s = **{speedup:.2f}x** "
         f"(run_dream alone {speedup_dream:.2f}x; from CPU times, as on a quiet machine: {projected:.2f}x)",
         ">= 1.8x"),
        ("2x corpus: CPU of 1 worker / 2 workers (all processes)",
         f"{med(d['cpu'] for d in w1):.2f} s / {med(d['cpu'] for d in w2):.2f} s", "close to 1"),
        ("2x corpus: the map's share of the 1-worker process (parallel fraction)",
         f"{fraction:.1%} (Amdahl bound with 2 workers: {amdahl:.2f}x)", ""),
    ]
    if before is not None:
        rows.append((f"before (`--before`: {_tree_name(before)}), the same rounds: 1x ratio / 2x ratio / 2 workers",
                     f"{med(d['cpu'] for d in old['1x']) / med(p['cpu'] for p in parse1):.2f}x / "
                     f"{med(d['cpu'] for d in old['w1']) / med(p['cpu'] for p in parse2):.2f}x / "
                     f"{med(d['wall'] for d in old['w1']) / med(d['wall'] for d in old['w2']):.2f}x", ""))
    md = [f"Scan against its baselines (`python bench/bench_dream.py --workers-only`): whole processes, medians of "
          f"{runs}, interleaved; machine: {machine()}, load average {os.getloadavg()[0]:.1f} at the end.", "",
          "| what | measured | target |", "| --- | --- | --- |"]
    md += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(md), cpu_ratio <= 1.3 and max(speedup, projected) >= 1.8


def offline_runs(home: Path, runs: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(runs):
        _reset(home)
        proc = subprocess.run([sys.executable, __file__, "--child", str(home)], capture_output=True, text=True,
                              check=True, cwd=ROOT)
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def nothing_new(home: Path, runs: int) -> list[float]:
    """Whole `dreamcli dream` commands (process start to exit) after everything was dreamed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    cmd = [sys.executable, "-m", "dreamcli", "--home", str(home), "dream", "--quiet"]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"dream failed: {proc.stderr}")
    return times


def model_run(home: Path) -> dict[str, Any]:
    """A dream with the fake server answering every candidate; counts from the requests it received."""
    from dreamcli.config import Config
    from dreamcli.dream.engine import DreamOptions, run_dream
    from dreamcli.testing import FakeAnthropic, tool_reply, tool_use
    from dreamcli.workspace.home import Workspace

    def answer(req: Any) -> Any:
        first = req.messages[0]["content"]
        ids = re.findall(r"^\[(c\d+)\]", first if isinstance(first, str) else json.dumps(first), re.M)
        ops = [{"op": "add", "candidate": c, "text": f"Lesson {c}.", "reason": "recurs"} for c in ids]
        return tool_reply(tool_use("propose_edits", {"operations": ops}))

    _reset(home)
    saved = {k: os.environ.get(k) for k in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY")}
    with FakeAnthropic() as server:
        server.responder = answer
        os.environ["ANTHROPIC_BASE_URL"] = server.url
        os.environ["ANTHROPIC_API_KEY"] = "sk-ant-bench"
        try:
            result = run_dream(Workspace(root=home, source="option"), Config(), DreamOptions(all=True))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        sent_tokens = sum(len(json.dumps(r.body, ensure_ascii=False)) // 4 for r in server.requests)
        calls = len(server.requests)
    session_tokens = result.dream["inputs"]["bytes"] // 4  # same 4-characters-per-token estimate
    return {"calls": calls, "sent_tokens": sent_tokens, "session_tokens": session_tokens,
            "share": sent_tokens / session_tokens, "candidates": result.dream["stats"]["fresh_candidates"],
            "sessions": result.dream["inputs"]["sessions"], "usage_in": result.dream["usage"]["input_tokens"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 3; 5 with --workers-only)")
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--keep", type=Path, default=None, help="keep (or reuse) the corpora in this directory")
    parser.add_argument("--workers-only", action="store_true",
                        help="only the scan: CPU against json.loads, 1 vs 2 workers (about two minutes)")
    parser.add_argument("--before", type=Path, default=None,
                        help="with --workers-only: also run the dreamcli tree at DIR (e.g. `git worktree add DIR REV`)")
    parser.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-parse", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_dream(args.child, args.workers)
        return
    if args.child_parse:
        child_parse(args.child_parse)
        return
    from bench._report import machine, write_section
    from dreamcli.testing.synthetic import GenConfig, generate
    from dreamcli.workspace.home import Workspace
    base = args.keep or Path(tempfile.mkdtemp(prefix="dreamcli-bench-dream-"))
    one, two = base / "x1", base / "x2"
    t0 = time.perf_counter()
    if not (one / "sessions").is_dir():
        generate(Workspace(root=one, source="option"), GenConfig(sessions=args.sessions, seed=1, size_kb=SIZE_KB))
    if not (two / "sessions").is_dir():
        shutil.copytree(one, two)
        generate(Workspace(root=two, source="option"), GenConfig(
            sessions=args.sessions, seed=2, size_kb=SIZE_KB, start=datetime(2026, 11, 1, 8, tzinfo=UTC)))
    gen_s = time.perf_counter() - t0
    print(f"corpora ready in {gen_s:.0f} s: {base}", file=sys.stderr)
    if args.workers_only:
        text, ok = workers_only(one, two, args.runs or 5, args.before.resolve() if args.before else None)
        print(text)
        write_section("dream-scan", "## dream scan (issue 22)\n\n" + text)
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
        print("all targets met" if ok else "SOME TARGETS MISSED", file=sys.stderr)
        return

    args.runs = args.runs or 3
    r1 = offline_runs(one, args.runs)
    r2 = offline_runs(two, args.runs)
    mbps1 = statistics.median(r["bytes"] / 1e6 / r["seconds"] for r in r1)
    mbps2 = statistics.median(r["bytes"] / 1e6 / r["seconds"] for r in r2)
    rss1 = max(r["rss_mb"] for r in r1)
    rss2 = max(r["rss_mb"] for r in r2)
    w1 = max(r["worker_rss_mb"] for r in r1)
    w2 = max(r["worker_rss_mb"] for r in r2)
    mb1, mb2 = r1[0]["bytes"] / 1e6, r2[0]["bytes"] / 1e6
    # the last offline run over x2 left its watermark: now nothing is new
    again = nothing_new(two, max(5, args.runs))
    m1 = model_run(one)
    m2 = model_run(two)
    workers = os.cpu_count() or 1
    rows = [
        ("offline dream throughput, 1x corpus", f"{mbps1:.0f} MB/s ({mb1:.0f} MB, {r1[0]['sessions']:,} sessions, "
         f"median {statistics.median(r['seconds'] for r in r1):.1f} s)", ">= 30 MB/s"),
        ("offline dream throughput, 2x corpus", f"{mbps2:.0f} MB/s ({mb2:.0f} MB, {r2[0]['sessions']:,} sessions)",
         ">= 30 MB/s"),
        ("peak RSS of the dream process, 1x / 2x", f"{rss1:.0f} MB / {rss2:.0f} MB (ratio {rss2 / rss1:.2f}; "
         f"+{(rss2 - rss1) / (r2[0]['sessions'] - r1[0]['sessions']) * 1000:.1f} MB per 1,000 more sessions)",
         "<= 300 MB, flat"),
        ("peak RSS of a scanning worker, 1x / 2x", f"{w1:.0f} MB / {w2:.0f} MB ({workers} workers)",
         f"main + {workers} workers <= 300 MB"),
        ("second dream, nothing new, over 2x dreamed sessions (whole command)",
         f"{statistics.median(again):.2f} s (median of {len(again)})", "<= 1 s"),
        ("model: input tokens sent / tokens in dreamed sessions, 1x",
         f"{m1['sent_tokens']:,} / {m1['session_tokens']:,} = {m1['share']:.4%}", "<= 10%"),
        ("model: input tokens sent / tokens in dreamed sessions, 2x",
         f"{m2['sent_tokens']:,} / {m2['session_tokens']:,} = {m2['share']:.4%}", "<= 10%"),
        ("model calls, 1x / 2x sessions", f"{m1['calls']} / {m2['calls']} ({m1['candidates']} / {m2['candidates']} "
         f"candidates, batches of 8)", "flat"),
    ]
    md = ["## dream (issue 5)", "",
          f"Machine: {machine()} (shared with other work). Corpus: `dreamcli.testing.synthetic` "
          f"(seed 1, ~{SIZE_KB} KB a session); 2x = the same plus {args.sessions:,} more sessions (seed 2) with the "
          f"same planted patterns. Offline dreams: `--all` on fresh state in a child process, median of "
          f"{args.runs}; throughput counts the bytes of session logs read by `run_dream`. Model: fake server "
          "in-process, tokens estimated at 4 characters per token for both sides. `python bench/bench_dream.py`.",
          "", "| what | measured | target |", "| --- | --- | --- |"]
    md += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    md += ["", "Memory holds no log bytes (lines are streamed; successful tool results are not even parsed); what "
           "grows inside one `--all` dream is bookkeeping per session and episode (ids for distinct-episode "
           "support, graded sessions, per-episode cost records, one-off patterns), about 2.5 KB a session over "
           "an interpreter baseline of ~33 MB. Between dreams the stored state is capped (cost records, sub-agent "
           "links, patterns), so scheduled dreams that read only new sessions stay flat as history grows."]
    text = "\n".join(md)
    print(text)
    write_section("dream", text)
    ok = (mbps1 >= 30 and rss1 + workers * w1 <= 300 and rss2 <= rss1 * 1.3 and statistics.median(again) <= 1
          and m1["share"] <= 0.1 and m2["share"] <= 0.1 and m1["calls"] == m2["calls"]
          and m1["calls"] == math.ceil(m1["candidates"] / 8))
    if args.keep is None:
        shutil.rmtree(base, ignore_errors=True)
    print("all targets met" if ok else "SOME TARGETS MISSED", file=sys.stderr)


if __name__ == "__main__":
    main()
