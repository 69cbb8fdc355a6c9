"""Issue 2 benchmarks: CLI start-up, session reader throughput and memory, `sessions list` at 10,000; and
issue 22's hot-path figures: the reader and `sessions list --json` (grades joined) before and after, in
one run, each against its baseline (a plain `json.loads` of the same lines; the empty listing).

Run from the repo root: `python bench/bench_foundation.py [--quick] [--before DIR] [--hot-only]`. DIR is a
copy of an older tree (`git archive <rev> | tar -x -C DIR`) whose `dreamcli` is measured as "before" in
child processes (`PYTHONPATH=DIR`); without it only this tree is measured. `--hot-only` runs the issue 22
part alone. Writes the "foundation" and "hotpath" sections of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
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


# --- issue 22: the hot path before and after, each against its baseline, in one run -----------------

HOT_READER = """
import json, sys, time
from pathlib import Path
mode, root = sys.argv[1], Path(sys.argv[2])
files = sorted(root.glob("sessions/*/*/*/*.jsonl"))
c0, t0 = time.process_time(), time.perf_counter()
lines = nbytes = 0
if mode == "reader":
    from dreamcli.sessions.reader import ReadStats, iter_events
    stats = ReadStats()
    for p in files:
        for _ in iter_events(p, stats):
            pass
    lines, nbytes = stats.lines, stats.bytes
else:
    loads = json.loads if mode == "json" else __import__("msgspec").json.Decoder().decode
    for p in files:
        with open(p, "rb") as f:
            for raw in f:
                lines += 1
                nbytes += len(raw)
                loads(raw)
print(lines, nbytes, time.perf_counter() - t0, time.process_time() - c0)
"""


def _env(tree: Path | None) -> dict[str, str]:
    """The environment of a child: `tree` first on its path (children run outside the repo: `python -c`
    and `-m` put the working directory first)."""
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def _measured(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one child process, its own high-water mark (GNU time's wait4)."""
    timer = shutil.which("time") or "/usr/bin/time"
    t0 = time.perf_counter()
    out = subprocess.run([timer, "-f", "%U %S %M", *cmd], env=env, stdout=subprocess.DEVNULL, cwd=cwd,
                         stderr=subprocess.PIPE, text=True, check=True)
    wall = time.perf_counter() - t0
    user, system, kb = out.stderr.strip().splitlines()[-1].split()
    return wall, float(user) + float(system), float(kb) / 1024


def _median(runs: list[tuple[float, ...]], i: int) -> float:
    return statistics.median(r[i] for r in runs)


def hot_reader(root: Path, before: Path | None, runs: int) -> list[tuple[str, float, float, float]]:
    """(label, lines/s, MB/s, CPU s) medians; the variants interleaved run by run so load hits all alike."""
    variants: list[tuple[str, str, Path | None]] = [("plain `json.loads` per line (baseline)", "json", None),
                                                     ("plain msgspec decode per line", "msgspec", None)]
    if before is not None:
        variants.append(("reader, before", "reader", before))
    variants.append(("reader, after", "reader", None))
    got: dict[str, list[tuple[float, ...]]] = {label: [] for label, _, _ in variants}
    for _ in range(runs):
        for label, mode, tree in variants:
            out = subprocess.run([sys.executable, "-c", HOT_READER, mode, str(root)], env=_env(tree), cwd=root,
                                 capture_output=True, text=True, check=True)
            lines, nbytes, wall, cpu = (float(x) for x in out.stdout.split())
            got[label].append((lines / wall, nbytes / wall / 1e6, cpu))
    return [(label, _median(got[label], 0), _median(got[label], 1), _median(got[label], 2)) for label, _, _ in variants]


def hot_listing(home: Path, before: Path | None, runs: int, limit: int) -> list[tuple[str, float, float, float]]:
    """`sessions list --json` over the whole corpus (grades joined), and the empty listing as the floor."""
    base = [sys.executable, "-m", "dreamcli", "--home", str(home), "sessions", "list", "--json"]
    variants: list[tuple[str, list[str], Path | None]] = [
        ("empty listing, after (floor)", [*base, "--since", "2099-01-01"], None)]
    if before is not None:
        variants.append((f"all {limit:,}, before", [*base, "--limit", str(limit)], before))
    variants.append((f"all {limit:,}, after", [*base, "--limit", str(limit)], None))
    if before is not None:
        variants.append(("default `--limit 50`, before", base, before))
    variants.append(("default `--limit 50`, after", base, None))
    for _, cmd, tree in variants:  # warm: the indexes catch up once, as any later listing finds them
        subprocess.run(cmd, env=_env(tree), stdout=subprocess.DEVNULL, check=True, cwd=home)
    got: dict[str, list[tuple[float, ...]]] = {label: [] for label, _, _ in variants}
    for _ in range(runs):
        for label, cmd, tree in variants:
            got[label].append(_measured(cmd, _env(tree), home))
    return [(label, _median(got[label], 0), _median(got[label], 1), _median(got[label], 2)) for label, _, _ in variants]


def hotpath_section(tmp: Path, *, quick: bool, before: Path | None) -> str:
    from dreamcli.store.index import rebuild
    from dreamcli.testing.synthetic import GenConfig, generate
    from dreamcli.workspace.home import Workspace

    n = 1000 if quick else 10_000
    load0 = f"{os.getloadavg()[0]:.1f}"
    ws = Workspace(root=tmp / "corpus", source="env").ensure_layout()
    manifest = generate(ws, GenConfig(sessions=n, seed=5, days=60))
    rebuild(ws)
    runs = 5 if quick else 7
    reader = hot_reader(ws.root, before, runs)
    listing = hot_listing(ws.root, before, runs, n)
    base = reader[0][3]
    md = [f"### Hot path (issue 22): reader and listing{' (QUICK RUN)' if quick else ''}", "",
          f"Synthetic corpus (`dreamcli.testing.synthetic.generate`, seed 5): {n:,} sessions, "
          f"{manifest.bytes / 1e6:.0f} MB, {manifest.grades:,} grades. Child processes, medians of {runs} runs, "
          "variants interleaved run by run; *before* is " + ("the tree given by `--before`" if before else
                                                              "not measured (no `--before`)") + ". "
          f"Load average {load0} at the start, {os.getloadavg()[0]:.1f} at the end: on a shared machine the "
          "CPU seconds (and the CPU ratios) are the steadier figures.", "",
          "| reader over every line | lines/s | MB/s | CPU s | MB per CPU s | CPU ratio to `json.loads` |",
          "| --- | ---: | ---: | ---: | ---: | ---: |"]
    md += [f"| {label} | {lps:,.0f} | {mbs:.0f} | {cpu:.2f} | {manifest.bytes / 1e6 / cpu:.0f} | {cpu / base:.2f}× |"
           for label, lps, mbs, cpu in reader]
    floor, floor_cpu = listing[0][1], listing[0][2]
    md += ["", f"`sessions list --json` (the session index and the grades index warm; {n:,} sessions):", "",
           "| listing | wall s | CPU s | peak RSS MB | wall ratio to the floor | CPU ratio to the floor |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    md += [f"| {label} | {wall:.3f} | {cpu:.2f} | {rss:.0f} | {wall / floor:.2f}× | {cpu / floor_cpu:.2f}× |"
           for label, wall, cpu, rss in listing]
    return "\n".join(md) + "\n"


def main() -> None:
    quick = "--quick" in sys.argv
    before = Path(sys.argv[sys.argv.index("--before") + 1]) if "--before" in sys.argv else None
    if "--hot-only" in sys.argv:
        with tempfile.TemporaryDirectory(prefix="dreamcli-bench-hot-") as d:
            hot = hotpath_section(Path(d), quick=quick, before=before)
        print(hot)
        write_section("hotpath", hot)
        return
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
        hot = hotpath_section(tmp / "hot", quick=quick, before=before)
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
    print(hot)
    write_section("foundation", md)
    write_section("hotpath", hot)


if __name__ == "__main__":
    main()
