"""Bench for issue 17: the HTML review page of a 500-operation dream with 2,000 evidence excerpts
(target <= 1 s) and `playbooks audit --verify` over a 100,000-line audit trail (target <= 2 s).
Whole commands (process start to exit) and the same work in-process; medians of --runs runs.

    python bench/bench_review.py [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
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
from dreamcli.audit_chain import GENESIS, HEAD_FILE
from dreamcli.playbooks import Entry, new_playbook, render_playbook
from dreamcli.workspace.fsutil import atomic_write_text

DREAMCLI = shutil.which("dreamcli") or str(Path(sys.executable).parent / "dreamcli")
DREAM = "01JD3Z0000000000000REVIEWB1"
OPS = 500
EXCERPTS = 2000
AUDIT_LINES = 100_000
LIVE = 300


def _eid(i: int) -> str:
    return f"pb-{i:08d}"


def _sid(i: int) -> str:
    return f"01JD0Q8Z3V6M4T2N8K5R{i:06d}"


def build_review(root: Path) -> None:
    (root / "state").mkdir(parents=True)
    pb = new_playbook("ci", description="bench")
    pb.version = 1
    for i in range(LIVE):
        pb.add_entry(Entry(id=_eid(i), text=f"Lesson {i}: run the linter before the tests; cite file {i}.py "
                           "and keep the output short.", sources=[_sid(i % 200)]), f"Section {i % 10}")
    text = render_playbook(pb)
    atomic_write_text(root / "playbooks" / "ci.md", text)
    atomic_write_text(root / "playbooks" / ".history" / "ci" / "v1.md", text)
    per = EXCERPTS // OPS
    ops = []
    for i in range(OPS):
        ev = [{"session_id": _sid((i * per + k) % 200), "seq": k + 1,
               "excerpt": f"tool error <{i}.{k}>: command failed & retried with --flag; output: 'ok'"}
              for k in range(per)]
        if i < 150:  # updates of live entries
            o = {"entry_id": _eid(i), "op": "update", "text": f"Lesson {i}: run the linter first, then the tests; "
                 f"cite file {i}.py with its line.", "old_text": None, "kind": "model"}
        elif i < 200:
            o = {"entry_id": _eid(i), "op": "retire", "text": None, "kind": "harmful"}
        else:
            o = {"entry_id": _eid(10_000 + i), "op": "add", "section": "New", "kind": "error_recovery",
                 "text": f"When step {i} fails with a timeout, retry it once with a longer limit."}
        o.update({"target": "playbook", "reason": "recurring", "support": {"sessions": 4, "successes": 3,
                  "total_sessions": 200}, "impact": 0.4, "evidence": ev,
                  "lint": [{"severity": "warn", "rule": "length", "message": "long"}] if i % 7 == 0 else []})
        ops.append(o)
    d = root / "dreams" / DREAM
    atomic_write_text(d / "proposal.json", json.dumps({"v": 1, "dream_id": DREAM, "playbook": "ci",
                                                        "base_version": 1, "operations": ops}))
    atomic_write_text(d / "dream.json", json.dumps({"dream_id": DREAM, "status": "pending", "playbook": "ci"}))
    runs = [{"pilot_id": "pl-1", "entries": [o["entry_id"] for o in ops[:100]],
             "lift": {"delta": 0.08, "ci95": [0.01, 0.15], "p_value": 0.03}}]
    atomic_write_text(d / "pilot.json", json.dumps({"v": 1, "dream_id": DREAM, "runs": runs}))


def build_audit(root: Path) -> None:
    """100k chained records as dreamcli writes them; the last one produced the live playbook."""
    live = (root / "playbooks" / "ci.md").read_bytes()
    live_hash = "sha256:" + hashlib.sha256(live).hexdigest()
    prev = GENESIS
    out = bytearray()
    line = b""
    for i in range(AUDIT_LINES):
        rec = {"v": 1, "ts": f"2026-11-{1 + i % 28:02d}T10:00:00.000Z", "action": "approve" if i % 3 else "reject",
               "actor": f"reviewer{i % 5}", "dream_id": DREAM, "playbook": "ci", "entry_ids": [_eid(i % 300)],
               "version_before": 1, "version_after": 1, "hash_before": live_hash, "hash_after": live_hash,
               "os_user": "bench", "prev": prev}
        line = json.dumps(rec, separators=(",", ":")).encode()
        out += line + b"\n"
        prev = "sha256:" + hashlib.sha256(line).hexdigest()
    (root / "audit.jsonl").write_bytes(bytes(out))
    head = {"v": 1, "lines": AUDIT_LINES, "bytes": len(out), "hash": prev, "ts": None}
    (root / "state" / HEAD_FILE).write_text(json.dumps(head))


def run(cmd: list[str], ok: tuple[int, ...] = (0,)) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                       env={**os.environ, "NO_COLOR": "1", "DREAMCLI_ACTOR": "bench"})
    elapsed = time.perf_counter() - t0
    if p.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr}")
    return elapsed


def in_process(home: Path, out: Path) -> tuple[float, float, int]:
    from dreamcli.playbooks.audit_verify import verify_audit
    from dreamcli.playbooks.proposals import load_dream
    from dreamcli.playbooks.review_page import review_page
    from dreamcli.ui.html_pages import render_review_page
    from dreamcli.workspace.home import Workspace

    ws = Workspace(root=home, source="option")
    t0 = time.perf_counter()
    page = review_page(ws, [load_dream(ws, DREAM)], reviewer={"actor": "bench"}, generated="now")
    html = render_review_page(page)
    out.write_text(html)
    t1 = time.perf_counter()
    v = verify_audit(ws)
    t2 = time.perf_counter()
    assert v.ok and v.lines == AUDIT_LINES, v.first_problem()
    return t1 - t0, t2 - t1, len(html)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    whole: dict[str, list[float]] = {"page": [], "verify": [], "floor": []}
    core: dict[str, list[float]] = {"page": [], "verify": []}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        build_review(home)
        build_audit(home)
        audit_mb = (home / "audit.jsonl").stat().st_size / 1e6
        out = Path(tmp) / "review.html"
        base = [DREAMCLI, "--home", str(home)]
        run([*base, "playbooks", "diff", DREAM, "--html", str(out)])  # warm the page cache
        for _ in range(args.runs):
            whole["floor"].append(run([*base, "--version"]))
            whole["page"].append(run([*base, "playbooks", "diff", DREAM, "--html", str(out)]))
            whole["verify"].append(run([*base, "playbooks", "audit", "--verify"]))
            p, v, size = in_process(home, out)
            core["page"].append(p)
            core["verify"].append(v)
        page_kb = size / 1024
    med = {k: statistics.median(v) for k, v in whole.items()}
    cmed = {k: statistics.median(v) for k, v in core.items()}
    for k, v in whole.items():
        print(f"{k:8s} whole median {med[k] * 1000:7.0f} ms (min {min(v) * 1000:.0f}, max {max(v) * 1000:.0f})")
    for k in core:
        print(f"{k:8s} in-process median {cmed[k] * 1000:7.0f} ms")

    def verdict(key: str, target: float) -> str:
        return "meets" if med[key] <= target else "MISSES"

    row_page = (f"| `playbooks diff DREAM --html FILE` ({page_kb:,.0f} KB page) | {med['page'] * 1000:.0f} ms "
                f"| {cmed['page'] * 1000:.0f} ms | ≤ 1 s: {verdict('page', 1.0)} |")
    row_verify = (f"| `playbooks audit --verify` ({AUDIT_LINES:,} lines + the live playbook) "
                  f"| {med['verify'] * 1000:.0f} ms | {cmed['verify'] * 1000:.0f} ms "
                  f"| ≤ 2 s: {verdict('verify', 2.0)} |")
    md = f"""## Review page and audit verification (issue 17)

A dream of {OPS} operations (150 updates, 50 retirements, 300 adds) with {EXCERPTS:,} evidence excerpts
against a live playbook of {LIVE} entries, and a pilot file; an audit trail of {AUDIT_LINES:,} chained
lines ({audit_mb:.0f} MB). Medians of {args.runs} runs, after one warm-up. Machine: {machine()}.
`python bench/bench_review.py`.

| what | whole command | in-process | target |
| --- | ---: | ---: | --- |
{row_page}
{row_verify}
| `dreamcli --version` (start-up floor) | {med['floor'] * 1000:.0f} ms | | |

In-process is the core and the rendering without interpreter start-up and argument parsing: for the
page, `review_page` (describe the dream, word diffs, evidence times, pilot) and
`render_review_page` (Jinja2) and the write; for verify, `verify_audit` (hash every line, parse it,
check the chain, the head and the playbook's content hash). Load average during the run:
{os.getloadavg()[0]:.1f}.
"""
    write_section("review", md)


if __name__ == "__main__":
    main()
