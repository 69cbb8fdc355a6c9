"""Issue 2 benchmarks: CLI start-up, session reader throughput and memory, `sessions list` at 10,000.

Run from the repo root: `python bench/bench_foundation.py [--quick]`. Writes docs/benchmarks.md.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import machine, write_section
from dreamcli.ids import ulid_at

DREAMCLI = shutil.which("dreamcli") or "dreamcli"


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append(time.perf_counter() - t0)
    return out


def session_lines(sid: str, turns: int, pad: int) -> list[str]:
    base = {"v": 1, "session_id": sid, "ts": "2026-11-20T09:00:00.000Z"}
    lines = [{**base, "type": "session.start", "seq": 0, "task": {"name": "bench", "prompt": "p"},
              "model": "claude-sonnet-5-5", "workdir": "/w", "source": "synthetic", "playbooks": [],
              "dreamcli_version": "0.1.0", "tags": []}]
    seq = 1
    for t in range(turns):
        lines.append({**base, "type": "message", "seq": seq, "role": "assistant", "model": "claude-sonnet-5-5",
                      "stop_reason": "tool_use", "usage": {"input_tokens": 1200, "output_tokens": 80},
                      "content": [{"type": "text", "text": "Looking at the logs. " + "x" * pad},
                                  {"type": "tool_use", "id": f"toolu_{t}", "name": "bash",
                                   "input": {"command": f"grep -n ERROR build-{t}.log"}}]})
        lines.append({**base, "type": "message", "seq": seq + 1, "role": "user",
                      "content": [{"type": "tool_result", "tool_use_id": f"toolu_{t}", "is_error": t % 7 == 0,
                                   "content": "ERROR: connection reset by peer\n" * (pad // 40 + 1)}]})
        seq += 2
    lines.append({**base, "type": "session.end", "seq": seq, "status": "completed",
                  "totals": {"turns": turns, "input_tokens": 1200 * turns, "output_tokens": 80 * turns}})
    return [json.dumps(x, separators=(",", ":")) for x in lines]


def make_corpus(root: Path, n_sessions: int, turns: int, pad: int) -> int:
    total = 0
    t0 = 1_763_600_000_000
    for i in range(n_sessions):
        sid = ulid_at(t0 + i * 1000, i.to_bytes(10, "big"))
        day = root / "sessions" / "2025" / "11" / f"{20 + (i * 7 // max(n_sessions, 1)):02d}"
        day.mkdir(parents=True, exist_ok=True)
        data = ("\n".join(session_lines(sid, turns, pad)) + "\n").encode()
        (day / f"{sid}.jsonl").write_bytes(data)
        total += len(data)
    return total


READER = """
import sys, time, resource
from pathlib import Path
from dreamcli.workspace.home import Workspace
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import ReadStats, iter_events
ws = Workspace(Path(sys.argv[1]), "option")
stats = ReadStats()
t0 = time.perf_counter()
for p in iter_session_files(ws):
    for _ in iter_events(p, stats):
        pass
dt = time.perf_counter() - t0
print(stats.bytes, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, stats.events)
"""


def reader_run(root: Path) -> tuple[float, float, float, int]:
    out = subprocess.run([sys.executable, "-c", READER, str(root)], capture_output=True, text=True, check=True)
    nbytes, dt, rss, events = out.stdout.split()
    return float(nbytes), float(dt), float(rss), int(events)


def main() -> None:
    quick = "--quick" in sys.argv
    tmp = Path(tempfile.mkdtemp(prefix="dreamcli-bench-"))
    try:
        runs = 5 if quick else 15
        v = timed([DREAMCLI, "--version"], runs)
        h = timed([DREAMCLI, "--help"], runs)

        # reader: >= 200 MB corpus and 2x that
        n1 = 100 if quick else 2000
        c1, c2 = tmp / "c1", tmp / "c2"
        size1 = make_corpus(c1, n1, turns=30, pad=1500)
        size2 = make_corpus(c2, 2 * n1, turns=30, pad=1500)
        r1 = [reader_run(c1) for _ in range(3)]
        r2 = [reader_run(c2) for _ in range(3)]
        mbps1 = statistics.median(b / dt / 1e6 for b, dt, _, _ in r1)
        mbps2 = statistics.median(b / dt / 1e6 for b, dt, _, _ in r2)
        rss1 = statistics.median(x[2] for x in r1)
        rss2 = statistics.median(x[2] for x in r2)
        shutil.rmtree(c1)
        shutil.rmtree(c2)

        # sessions list over 10,000 sessions
        n_list = 1000 if quick else 10_000
        lst = tmp / "list"
        make_corpus(lst, n_list, turns=2, pad=100)
        cmd = [DREAMCLI, "--home", str(lst), "sessions", "list", "--limit", str(n_list), "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        listed = len(json.loads(out.stdout)["sessions"])
        lt = timed(cmd, 3 if quick else 5)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    md = f"""## Foundation (issue 2)

Machine: {machine()}. {'QUICK RUN (smaller sizes).' if quick else ''}

| what | median | target |
| --- | --- | --- |
| `dreamcli --version` ({runs} runs) | {statistics.median(v):.3f} s | ≤ 0.25 s |
| `dreamcli --help` ({runs} runs) | {statistics.median(h):.3f} s | ≤ 0.35 s |
| reader throughput, {size1 / 1e6:.0f} MB corpus ({n1} sessions, 3 runs) | {mbps1:.0f} MB/s | ≥ 50 MB/s |
| reader throughput, {size2 / 1e6:.0f} MB corpus (2×) | {mbps2:.0f} MB/s | ≥ 50 MB/s |
| reader peak RSS, 1× / 2× corpus | {rss1:.0f} MB / {rss2:.0f} MB (ratio {rss2 / rss1:.2f}) | flat |
| `sessions list` over {listed:,} sessions (all listed, --json) | {statistics.median(lt):.2f} s | ≤ 2 s |
"""
    print(md)
    write_section("foundation", md)


if __name__ == "__main__":
    main()
