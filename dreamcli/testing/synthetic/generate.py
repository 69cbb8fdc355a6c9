"""A seeded, deterministic generator of realistic sessions (schema v1), for tests, benchmarks and the
bundled samples.

    python -m dreamcli.testing.synthetic --out DIR --sessions N --seed S [--size-kb K]

DIR is a workspace root: sessions go to DIR/sessions/... (written through `SessionWriter`, so they
are valid, redacted v1 logs), grades to DIR/grades/grades.jsonl (`append_grade`) and the memory
store the agents wrote to DIR/memory/default/memories/. The same arguments give the same bytes.

The corpus mirrors the customer stories: contract reviews whose `read` fails on .docx/.pdf until a
conversion (unzip, pandoc, pdftotext) fixes it and whose users keep correcting the citation style
while a graded criterion keeps failing (Harvey); build-log triage episodes in which a lead agent
delegates to sub-agents (`parent_session_id`) whose `grep` misses gzipped logs until `zgrep` is used,
with costly outlier runs (Netflix); medical summaries graded against an outcome, with a repeated
identical call and a memory note written again and again (Wisedocs); and one-off noise everywhere.
`generate()` returns a manifest of which planted pattern occurs in which episode.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from dreamcli.testing.synthetic.scenarios import SCENARIOS
from dreamcli.testing.synthetic.session import DEFAULT_START, GenConfig, Generator, Manifest
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace


def generate(ws: Workspace, cfg: GenConfig) -> Manifest:
    """Write `cfg.sessions` sessions (plus their grades and memory store) into workspace `ws`."""
    ws.ensure_layout()
    gen = Generator(ws, cfg)
    names = list(cfg.weights)
    weights = [cfg.weights[n] for n in names]
    schedule: list[str] = []
    index = 0
    while index < cfg.sessions:
        if not schedule:  # blocks of 20 keep small corpora representative
            schedule = [n for n, w in zip(names, weights, strict=True) for _ in range(max(1, round(w * 20)))]
            gen.rng.shuffle(schedule)
        scenario = schedule.pop()
        remaining = cfg.sessions - index
        index += SCENARIOS[scenario](gen, index, remaining)
        gen.manifest.episodes += 1
    _write_memory(ws, gen)
    gen.manifest.noise_terms = list(gen.noise.used)
    return gen.manifest


def _write_memory(ws: Workspace, gen: Generator) -> None:
    root = ws.memories_root(gen.cfg.memory_store)
    for path, (text, t_ms) in sorted(gen.memory_notes.items()):
        target = root / path.removeprefix("/memories/")
        atomic_write_text(target, text, fsync=False)
        os.utime(target, (t_ms / 1000, t_ms / 1000))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dreamcli.testing.synthetic", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="workspace root to write into (created if missing)")
    parser.add_argument("--sessions", type=int, default=40, help="number of session files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size-kb", type=float, default=6.0, help="average session size in KB")
    parser.add_argument("--days", type=int, default=30, help="days the sessions are spread over")
    parser.add_argument("--start", default=None, help="first session date (ISO, default 2026-10-01)")
    parser.add_argument("--manifest", action="store_true", help="print the manifest as JSON on stdout")
    args = parser.parse_args(argv)
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    start = DEFAULT_START
    if args.start:
        start = datetime.fromisoformat(args.start)
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    cfg = GenConfig(sessions=args.sessions, seed=args.seed, size_kb=args.size_kb, days=args.days, start=start)
    ws = Workspace(root=Path(args.out).absolute(), source="option")
    manifest = generate(ws, cfg)
    if args.manifest:
        print(json.dumps(manifest.to_json(), indent=2))
    else:
        print(f"wrote {manifest.sessions} sessions ({manifest.episodes} episodes, {manifest.bytes / 1e6:.1f} MB) "
              f"and {manifest.grades} grades to {ws.root}", file=sys.stderr)
    return 0

