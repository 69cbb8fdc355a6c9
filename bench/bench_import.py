"""Issue 22: `dreamcli sessions import claude-code` against the parse limit; issue 23: the conversion speed
on the fidelity corpus (both formats) beside the synthetic one.

Run from the repo root: `python bench/bench_import.py [--mb 82] [--runs 5] [--before DIR]`. Generates
two corpora of Claude Code transcripts (a big one of 0.5-4 MB transcripts with sidechains and subagent
files, and 400 small transcripts), then, round-robin so load drifts hit all alike, whole `dreamcli`
processes importing each corpus into a fresh workspace with 1 and 2 workers, and a plain Python process
that reads the same files and `json.loads` every line (the baseline, in the same run). Reports medians of
wall and CPU time (the process and its workers) and each as a ratio to the baseline. `--before DIR`
also runs the dreamcli tree at DIR (e.g. `git archive HEAD | tar -x -C DIR` of an older commit). Writes
the import section of docs/benchmarks.md and deletes the generated data.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import machine, write_section  # noqa: E402
from dreamcli.testing.transcripts import claude_subagent_file, claude_transcript, utc  # noqa: E402

TEMPLATES = 24  # distinct generated transcripts; the big corpus is copies of them under new names
SMALL = 400
FIDELITY = ROOT / "tests" / "sessions" / "fidelity"
BASELINE = """
import json, os, sys
for d, dirs, files in os.walk(sys.argv[1]):
    dirs.sort()
    for name in sorted(files):
        if name.endswith(".jsonl"):
            with open(os.path.join(d, name), "rb") as f:
                for line in f:
                    if line.strip():
                        json.loads(line)
"""


def make_templates(tmp: Path) -> list[tuple[Path, list[Path]]]:
    """Distinct transcripts of 0.5-4 MB (some with an inline sidechain or subagent files)."""
    out = []
    for i in range(TEMPLATES):
        proj = tmp / "templates" / f"p{i}"
        sid = f"tmpl-{i:03d}"
        main = proj / f"{sid}.jsonl"
        claude_transcript(main, session_id=sid, start=utc(2026, 1, 1 + i % 28, 9), seed=i,
                          rounds=60 + (i * 37) % 180, payload=1500 + (i * 911) % 5000, sidechain=i % 4 == 0)
        subs = []
        if i % 3 == 0:
            for k in range(2):
                path, _ = claude_subagent_file(proj, sid, f"{i:03d}a{k}", utc(2026, 1, 1 + i % 28, 9, 5 + k),
                                               seed=100 + i * 2 + k, payload=3000)
                subs.append(path)
        out.append((main, subs))
    return out


def make_big(tmp: Path, target_bytes: int) -> tuple[Path, int, int]:
    """Copies of the templates under new session names; (dir, files, bytes)."""
    templates = make_templates(tmp)
    corpus = tmp / "big"
    total = n = files = 0
    while total < target_bytes:
        main, subs = templates[n % len(templates)]
        proj = corpus / f"-home-dev-project-{n % 40:02d}"
        sid = f"{n:08d}-5e55-4c1d-9a0b-{n:012d}"
        proj.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(main, proj / f"{sid}.jsonl")
        total += main.stat().st_size
        for sub in subs:
            dest = proj / sid / "subagents" / sub.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sub, dest)
            total += sub.stat().st_size
        files += 1 + len(subs)
        n += 1
    return corpus, files, total


def make_small(tmp: Path) -> tuple[Path, int, int]:
    """400 short transcripts (a prompt, a tool call, an answer): about 3 KB each."""
    corpus = tmp / "small"
    for i in range(SMALL):
        claude_transcript(corpus / f"-home-dev-p{i % 20:02d}" / f"{i:08d}-aaaa-4bbb-8ccc-{i:012d}.jsonl",
                          session_id=f"{i:08d}-aaaa-4bbb-8ccc-{i:012d}", start=utc(2026, 2, 1 + i % 28, 9, i % 60),
                          seed=i, rounds=1, payload=80)
    files = list(corpus.rglob("*.jsonl"))
    return corpus, len(files), sum(p.stat().st_size for p in files)


def timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float]:
    """(wall, CPU of the process and everything it waited for) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, cwd=cwd, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(corpus: Path, tmp: Path, runs: int, trees: dict[str, Path]) -> dict[str, dict[str, float]]:
    """Medians of `runs` round-robin whole-process runs: the baseline, the CLI's floor (importing an empty
    directory), and each tree with 1 and 2 workers."""
    samples: dict[str, list[tuple[float, float]]] = {}
    (tmp / "nothing").mkdir(exist_ok=True)
    for _ in range(runs):
        samples.setdefault("json.loads", []).append(timed([sys.executable, "-c", BASELINE, str(corpus)],
                                                          dict(os.environ)))
        floor = [sys.executable, "-m", "dreamcli", "--home", str(tmp / "ws"), "sessions", "import", "claude-code",
                 str(tmp / "nothing"), "--json"]
        samples.setdefault("CLI floor (an empty directory)", []).append(timed(floor, dict(os.environ)))
        shutil.rmtree(tmp / "ws")
        for label, tree in trees.items():
            env = dict(os.environ, PYTHONPATH=str(tree))
            for workers in (1, 2):
                ws = tmp / "ws"
                cmd = [sys.executable, "-m", "dreamcli", "--home", str(ws), "sessions", "import", "claude-code",
                       str(corpus), "--workers", str(workers), "--json"]
                run = timed(cmd, env, cwd=tree)  # `-m` puts the working directory first on sys.path
                samples.setdefault(f"{label}, {workers} worker{'s' * (workers > 1)}", []).append(run)
                shutil.rmtree(ws)
    return {k: {"wall": statistics.median(w for w, _c in v), "cpu": statistics.median(c for _w, c in v)}
            for k, v in samples.items()}


def convert_rate(tmp: Path, source: str, root: Path, min_bytes: int = 20_000_000) -> dict[str, float]:
    """Single-process conversion speed (read, convert, redact, write staged sessions; no commit) over the
    transcripts under `root`, repeated until `min_bytes` were read: MB/s of wall and per CPU-second."""
    from dreamcli.redaction import Redactor
    from dreamcli.sessions.importers.runner import FORMATS, plan_import
    from dreamcli.sessions.importers.units import Converter
    from dreamcli.workspace.home import Workspace

    ws = Workspace(root=tmp / f"ws-rate-{source}", source="option")
    staging = ws.root / "staging"
    plan = plan_import(source, root)
    conv = Converter(ws, staging, Redactor(), source, FORMATS[source])
    done = passes = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while done < min_bytes:
        for unit in plan.units:
            conv.unit(unit)
        done += plan.bytes
        shutil.rmtree(staging, ignore_errors=True)
        passes += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    shutil.rmtree(ws.root, ignore_errors=True)
    return {"files": sum(u.files() for u in plan.units), "bytes": plan.bytes, "passes": passes,
            "mbs": done / 1e6 / wall, "cpu_mbs": done / 1e6 / cpu}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=82.0, help="size of the big corpus in MB (default 82)")
    ap.add_argument("--runs", type=int, default=5, help="whole-process runs of each (default 5)")
    ap.add_argument("--before", type=Path, default=None, help="a dreamcli tree to measure beside this one")
    ap.add_argument("--dir", default=None, help="where to generate (default: a temp dir)")
    ap.add_argument("--no-write", action="store_true", help="print, do not write docs/benchmarks.md")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dreamcli-bench-import-", dir=args.dir))
    trees = {"import": ROOT} if args.before is None else {"before": args.before.resolve(), "import": ROOT}
    try:
        corpora = {"big": make_big(tmp, int(args.mb * 1e6)), "small": make_small(tmp)}
        results = {}
        load = os.getloadavg()[0]
        for name, (path, _files, _size) in corpora.items():
            results[name] = measure(path, tmp, args.runs, trees)
            print(name, results[name], flush=True)
        rates = {"synthetic Claude Code (the templates above)": convert_rate(tmp, "claude-code", tmp / "templates",
                                                                            50_000_000),
                 "fidelity corpus, Claude Code": convert_rate(tmp, "claude-code", FIDELITY / "claude-code"),
                 "fidelity corpus, Codex": convert_rate(tmp, "codex", FIDELITY / "codex")}
        text = report(corpora, results, rates, args.runs, load, args.before is not None)
        print(text)
        if not args.no_write:
            write_section("import", text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(corpora: dict[str, tuple[Path, int, int]], results: dict[str, dict[str, dict[str, float]]],
           rates: dict[str, dict[str, float]], runs: int, load: float, before: bool) -> str:
    lines = [
        "## sessions import: Claude Code transcripts against the parse limit (issues 7, 22)",
        "",
        f"Machine: {machine()}, shared with other work (load average {load:.1f} at the start). "
        f"`python bench/bench_import.py{' --before DIR' if before else ''}`. Medians of {runs} whole-process "
        "runs of each, round-robin in one run: `dreamcli sessions import claude-code DIR --workers N` into a "
        "fresh workspace, and the baseline, a plain Python process that reads the same files and "
        "`json.loads` every line. CPU is the process's and its workers'. Ratios are to the baseline of "
        "the same corpus in the same run (target: import ≤ 2× the parse).",
        "",
        "| corpus | run | wall | CPU | MB/s (wall) | wall ÷ parse | CPU ÷ parse |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (_path, files, size) in corpora.items():
        res = results[name]
        base = res["json.loads"]
        label = f"{'big' if name == 'big' else 'small'}: {files} files, {size / 1e6:.1f} MB"
        for run, r in res.items():
            lines.append(f"| {label} | {run} | {r['wall']:.2f} s | {r['cpu']:.2f} s | {size / 1e6 / r['wall']:.0f} | "
                         f"{r['wall'] / base['wall']:.2f}× | {r['cpu'] / base['cpu']:.2f}× |")
    lines += [
        "",
        "Both sides pay their own start-up: the baseline is a bare interpreter, the CLI floor row is the same "
        "command importing an empty directory (start-up, config, workspace, lock), which dominates the small corpus. "
        "The big corpus: Claude Code projects of 0.5-4 MB transcripts (one line per content block sharing "
        "`message.id`, tool output repeated in `toolUseResult`, summary/snapshot/system lines, inline "
        "sidechains and `subagents/agent-*.jsonl` files), 24 distinct transcripts copied under new names. "
        "The small corpus: 400 transcripts of a prompt, a tool call and an answer. With more runnable "
        "processes than cores (the load average above), a second worker finds no idle core: 2 workers only "
        "pay off on a machine with a core to spare.",
        "",
        "One process converting the same transcripts over and over (read, convert, redact, write staged "
        "sessions; no workers, no commit), the fidelity corpus (`tests/sessions/fidelity/`: small real-format "
        "files of both formats, many short tool calls) beside the synthetic templates:",
        "",
        "| corpus | files | size | MB/s (wall) | MB/s per CPU-second |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, r in rates.items():
        lines.append(f"| {label} | {int(r['files'])} | {r['bytes'] / 1e3:,.0f} KB | {r['mbs']:.1f} | "
                     f"{r['cpu_mbs']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
