"""Issue 19 benchmarks: `sessions list --since` indexed vs scanned (10k/100k[/1M]), dream throughput with
1, 2 and Ray workers, and the upload overhead per session to a moto S3 server on 127.0.0.1.

Run from the repo root: `python bench/bench_scaling.py [--sizes 10000,100000] [--dream-sessions 3000]`.
Writes the "scaling" section of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import machine, write_section
from dreamcli.ids import ulid_at
from dreamcli.workspace.home import Workspace

DAY_MS = 86_400_000
RESULTS = Path(__file__).resolve().parent / "scaling-results.json"  # the raw figures of the last runs


def make_sessions(ws: Workspace, n: int, days: int = 365) -> None:
    """n small sessions (start, 3 messages, end) spread over `days` days ending now."""
    end_ms = int(time.time() * 1000)
    step = days * DAY_MS // n
    for i in range(n):
        ms = end_ms - days * DAY_MS + i * step
        sid = ulid_at(ms, i.to_bytes(10, "big"))
        day = datetime.fromtimestamp(ms / 1000, UTC)
        folder = ws.sessions_dir / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
        folder.mkdir(parents=True, exist_ok=True)
        ts = day.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        lines = [{"v": 1, "type": "session.start", "ts": ts, "session_id": sid, "seq": 0, "source": "synthetic",
                  "task": {"name": f"task-{i % 7}", "prompt": "p"}, "tags": [], "playbooks": []}]
        lines += [{"v": 1, "type": "message", "ts": ts, "session_id": sid, "seq": k, "role": "user",
                   "content": "hello " * 20} for k in (1, 2, 3)]
        lines.append({"v": 1, "type": "session.end", "ts": ts, "session_id": sid, "seq": 4,
                      "status": "completed" if i % 5 else "error", "totals": {"turns": 3}})
        (folder / f"{sid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def timed(fn: Any, runs: int = 3) -> float:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def bench_list(sizes: list[int], tmp: Path) -> list[dict[str, Any]]:
    from dreamcli.sessions.summary import SessionFilter, list_sessions
    from dreamcli.store.index import index_path, list_summaries, rebuild
    from dreamcli.store.tree import list_with_children

    rows = []
    for n in sizes:
        ws = Workspace(root=tmp / f"list-{n}", source="env").ensure_layout()
        t0 = time.perf_counter()
        make_sessions(ws, n)
        made = time.perf_counter() - t0
        since = SessionFilter(since=datetime.now(UTC) - timedelta(days=30))  # ~1/12 of the corpus
        runs = 3 if n <= 100_000 else 1
        scan_all = timed(lambda: sum(1 for _ in list_sessions(ws, since)), runs)  # noqa: B023
        scan_50 = timed(lambda: list_with_children(ws, since, 50), runs)  # noqa: B023
        t0 = time.perf_counter()
        rebuild(ws)
        build = time.perf_counter() - t0
        idx_all = timed(lambda: sum(1 for _ in list_summaries(ws, since)), runs)  # noqa: B023
        idx_50 = timed(lambda: list_with_children(ws, since, 50), runs)  # noqa: B023
        errors = SessionFilter(status="error", task="task-3")  # no --since: the scan opens every file
        idx_err = timed(lambda: sum(1 for _ in list_summaries(ws, errors)), runs)  # noqa: B023
        index_mb = index_path(ws).stat().st_size / 1e6
        note_ms, refreshed = bench_notes(ws)
        index_path(ws).rename(index_path(ws).with_suffix(".off"))
        scan_err = timed(lambda: sum(1 for _ in list_summaries(ws, errors)), 1)  # noqa: B023
        rows.append({"sessions": n, "generate_s": made, "scan_since_all_s": scan_all, "scan_since_50_s": scan_50,
                     "reindex_s": build, "index_since_all_s": idx_all, "index_since_50_s": idx_50,
                     "scan_status_task_s": scan_err, "index_status_task_s": idx_err,
                     "index_mb": index_mb, "note_ms": note_ms, "refreshed_after_notes": refreshed})
        print(rows[-1], flush=True)
        shutil.rmtree(ws.root)
    return rows


def bench_notes(ws: Workspace, runs: int = 100) -> tuple[float, int]:
    """Sessions written as `dreamcli run` writes them (its sink notes each sealed session in the index):
    ms per note (summary, day listing, one transaction), and the rows the next listing's refresh still had
    to re-read (0: the notes kept the index current)."""
    from contextlib import closing

    from dreamcli.config import Config
    from dreamcli.sessions.writer import SessionWriter
    from dreamcli.store import index, index_notes
    from dreamcli.store.sink import session_sink

    spent = 0.0
    real = index_notes.note_sessions

    def timed_note(ws: Workspace, paths: Iterable[Path]) -> None:
        nonlocal spent
        t0 = time.perf_counter()
        real(ws, paths)
        spent += time.perf_counter() - t0

    index_notes.note_sessions = timed_note
    try:
        for _ in range(runs):
            with SessionWriter(ws, sink=session_sink(ws, Config()), fsync=False) as w:
                w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
                w.end("completed")
    finally:
        index_notes.note_sessions = real
    today = w.path.parent
    old = time.time() - 60
    os.utime(today, (old, old))  # as if the runs had taken a while: the last note sees a settled directory
    index.note_session(ws, w.path)
    db = index.connect(ws)
    assert db is not None
    with closing(db):
        return spent * 1000 / runs, index.refresh(ws, db)


def bench_dream(n: int, tmp: Path) -> dict[str, Any]:
    from dreamcli.config import Config
    from dreamcli.dream.engine import DreamOptions, run_dream
    from dreamcli.dream.executors import LocalExecutor, RayExecutor, use_executor
    from dreamcli.testing.synthetic import GenConfig, generate

    ws = Workspace(root=tmp / "dream", source="env").ensure_layout()
    manifest = generate(ws, GenConfig(sessions=n, seed=7, size_kb=20))
    out: dict[str, Any] = {"sessions": n, "mb": manifest.bytes / 1e6}

    def dream(executor: Any) -> float:
        with use_executor(executor):
            return timed(lambda: run_dream(ws, Config(), DreamOptions(all=True, offline=True, dry_run=True)), 3)

    out["workers_1_s"] = dream(LocalExecutor(1))
    out["workers_2_s"] = dream(LocalExecutor(2))
    try:
        import ray

        t0 = time.perf_counter()
        executor = RayExecutor(None, 2, ray_module=ray)
        out["ray_init_s"] = time.perf_counter() - t0
        out["ray_2_s"] = dream(executor)
        ray.shutdown()
    except ImportError:
        out["ray_2_s"] = None
    print(out, flush=True)
    return out


def bench_upload(n: int, tmp: Path) -> dict[str, Any]:
    import logging

    from moto.server import ThreadedMotoServer

    from dreamcli.config import Config
    from dreamcli.sessions.writer import SessionWriter
    from dreamcli.store.sink import session_sink

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    import s3fs

    s3fs.S3FileSystem(skip_instance_cache=True).mkdir("bench")
    out: dict[str, Any] = {"sessions": n, "lines_per_session": 22}
    try:
        for label, url, part_lines in (("local", None, 200), ("s3_parts_200", "s3://bench/a", 200),
                                       ("s3_parts_5", "s3://bench/b", 5)):
            ws = Workspace(root=tmp / f"up-{label}", source="env").ensure_layout()
            sink = session_sink(ws, Config.model_validate({"sessions": {"url": url, "part_lines": part_lines}}))
            if sink.upload is not None:
                sink.upload.store.fs.ls("bench")  # connect first: the client's start-up is not per session
            t0 = time.perf_counter()
            for _ in range(n):
                with SessionWriter(ws, sink=sink) as w:
                    w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
                    for k in range(20):
                        w.message("user", f"line {k} " + "x" * 400)
                    w.end("completed")
            out[f"{label}_ms_per_session"] = (time.perf_counter() - t0) * 1000 / n
    finally:
        server.stop()
    print(out, flush=True)
    return out


def render(lists: list[dict[str, Any]], dream: dict[str, Any] | None, upload: dict[str, Any] | None) -> str:
    md = ["## Scaling (issue 19): index, executors, object storage", "",
          f"Machine: {machine()}. `python bench/bench_scaling.py`; medians of 3 runs (1 at 1M).", ""]
    if lists:
        md += ["`sessions list --since 30d` over small sessions spread across a year (1/12 match). *All*: every "
               "match (the `--json` of a big listing); *50*: the CLI's default `--limit 50` (children under their "
               "lead). Indexed times include the freshness check (one stat per day directory).", "",
               "| sessions | scan, all | index, all | speed-up | scan, 50 | index, 50 | reindex | index size |",
               "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in lists:
            md.append(f"| {r['sessions']:,} | {r['scan_since_all_s']:.2f} s | {r['index_since_all_s']:.3f} s | "
                      f"{r['scan_since_all_s'] / r['index_since_all_s']:.0f}× | {r['scan_since_50_s']:.3f} s | "
                      f"{r['index_since_50_s']:.3f} s | {r['reindex_s']:.1f} s | {r['index_mb']:.0f} MB |")
        md += ["", "`sessions list --status error --task task-3` (all matches, no `--since`: the scan opens every "
               "file):",
               "", "| sessions | scan | index | speed-up |", "| ---: | ---: | ---: | ---: |"]
        for r in lists:
            md.append(f"| {r['sessions']:,} | {r['scan_status_task_s']:.2f} s | {r['index_status_task_s']:.3f} s | "
                      f"{r['scan_status_task_s'] / r['index_status_task_s']:.0f}× |")
        md.append("")
        notes = [r for r in lists if "note_ms" in r]
        if notes:
            md += ["Updated on write: a run's writer notes its sealed session in the index (`note_session`); ms "
                   "per note, and the rows the next listing's refresh still re-read afterwards:", "",
                   "| sessions | ms per note | rows re-read by the next refresh |", "| ---: | ---: | ---: |"]
            md += [f"| {r['sessions']:,} | {r['note_ms']:.2f} | {r['refreshed_after_notes']} |" for r in notes]
            md.append("")
    if dream:
        one = dream["workers_1_s"]
        md += [f"Dream throughput (`dream --all --offline --dry-run`, {dream['sessions']:,} synthetic sessions, "
               f"{dream['mb']:.0f} MB): the whole dream, map and reduce.", "",
               "| executor | seconds | MB/s | ratio to 1 worker |", "| --- | ---: | ---: | ---: |"]
        for label, key in (("--workers 1", "workers_1_s"), ("--workers 2", "workers_2_s"),
                           ("--executor ray (local, 2 CPUs)", "ray_2_s")):
            v = dream.get(key)
            if v:
                md.append(f"| {label} | {v:.2f} | {dream['mb'] / v:.1f} | {one / v:.2f}× |")
        if dream.get("ray_init_s"):
            md.append(f"\nStarting local Ray took {dream['ray_init_s']:.1f} s (not counted above).")
        md.append("")
    if upload:
        base = upload["local_ms_per_session"]
        md += [f"Upload overhead: {upload['sessions']} sessions of {upload['lines_per_session']} lines (~9 KB) "
               "written by SessionWriter to a moto S3 server on 127.0.0.1.", "",
               "| store | ms per session | overhead |", "| --- | ---: | ---: |",
               f"| local directory | {base:.1f} | — |",
               f"| s3, part every 200 lines (1 part + marker) | {upload['s3_parts_200_ms_per_session']:.1f} | "
               f"+{upload['s3_parts_200_ms_per_session'] - base:.1f} ms |",
               f"| s3, part every 5 lines (5 parts + marker) | {upload['s3_parts_5_ms_per_session']:.1f} | "
               f"+{upload['s3_parts_5_ms_per_session'] - base:.1f} ms |", ""]
    return "\n".join(md)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dream-sessions", type=int, default=3000)
    ap.add_argument("--upload-sessions", type=int, default=200)
    ap.add_argument("--only", default="list,dream,upload")
    args = ap.parse_args()
    only = set(args.only.split(","))
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"lists": [], "dream": None, "upload": None}
    with tempfile.TemporaryDirectory(prefix="dreamcli-bench-scaling-") as d:
        tmp = Path(d)
        if "list" in only:  # a run of some sizes keeps the figures of the others
            fresh = bench_list([int(x) for x in args.sizes.split(",")], tmp)
            sizes = {r["sessions"] for r in fresh}
            saved["lists"] = sorted([r for r in saved["lists"] if r["sessions"] not in sizes] + fresh,
                                    key=lambda r: r["sessions"])
        if "dream" in only:
            saved["dream"] = bench_dream(args.dream_sessions, tmp)
        if "upload" in only:
            saved["upload"] = bench_upload(args.upload_sessions, tmp)
    RESULTS.write_text(json.dumps(saved, indent=1) + "\n")
    write_section("scaling", render(saved["lists"], saved["dream"], saved["upload"]))

if __name__ == "__main__":
    main()
