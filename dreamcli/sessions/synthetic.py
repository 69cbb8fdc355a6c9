"""A seeded, deterministic generator of realistic sessions (schema v1), for tests, benchmarks and the
bundled samples.

    python -m dreamcli.sessions.synthetic --out DIR --sessions N --seed S [--size-kb K]

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
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dreamcli.models import DEFAULT_AGENT_MODEL, DEFAULT_GRADER_MODEL, cost_usd
from dreamcli.outcomes.store import append_grade
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DEFAULT_START = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def ulid_at(ms: int, rand: int) -> str:
    """A ULID from a millisecond time and 80 random bits (deterministic when `rand` is seeded)."""
    out = []
    value = (ms << 80) | (rand & ((1 << 80) - 1))
    for _ in range(26):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class GenConfig:
    sessions: int = 40
    seed: int = 0
    size_kb: float = 6.0  # average session size; the benchmark uses ~50 for 5,000 sessions = 250 MB
    start: datetime = DEFAULT_START
    days: int = 30
    memory_store: str = "default"
    context_entries: dict[str, list[str]] = field(default_factory=dict)  # playbook -> entry ids in context
    weights: dict[str, float] = field(default_factory=lambda: {
        "contract-review": 0.38, "build-log-triage": 0.17, "medical-summary": 0.3, "misc": 0.15})


@dataclass
class Manifest:
    """What was planted where: pattern key -> episode ids (a lead and its sub-agents are one episode)."""

    sessions: int = 0
    episodes: int = 0
    bytes: int = 0
    patterns: dict[str, dict[str, None]] = field(default_factory=dict)  # key -> ordered set of episodes
    noise_terms: list[str] = field(default_factory=list)
    grades: int = 0

    def plant(self, key: str, episode: str) -> None:
        self.patterns.setdefault(key, {})[episode] = None

    def support(self, key: str) -> int:
        return len(self.patterns.get(key, {}))

    def to_json(self) -> dict[str, Any]:
        return {"sessions": self.sessions, "episodes": self.episodes, "bytes": self.bytes,
                "grades": self.grades, "noise_terms": self.noise_terms,
                "patterns": {k: list(v) for k, v in sorted(self.patterns.items())}}


class Generator:
    """Shared state of one generation run: the clock, ids, the noise pool and the manifest."""

    def __init__(self, ws: Workspace, cfg: GenConfig) -> None:
        from dreamcli.sessions.synthetic_text import NoisePool

        self.ws = ws
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.manifest = Manifest()
        self.noise = NoisePool(random.Random(cfg.seed * 7919 + 17))
        self.start_ms = int(cfg.start.timestamp() * 1000)
        self.span_ms = cfg.days * 86_400_000
        self.memory_notes: dict[str, tuple[str, int]] = {}  # path -> (text, mtime ms)
        self._grade_n = 0

    def session_time(self, index: int) -> int:
        slot = self.span_ms // max(1, self.cfg.sessions)
        return self.start_ms + index * slot + self.rng.randrange(max(1, slot // 4))

    def new_session(self, t0_ms: int, episode: str | None = None, **start: Any) -> SimSession:
        sid = ulid_at(t0_ms, self.rng.getrandbits(80))
        self.manifest.sessions += 1
        return SimSession(self, sid, t0_ms, episode or sid, start)

    def target_bytes(self) -> int:
        factor = min(3.0, max(0.3, self.rng.lognormvariate(0, 0.45)))
        return int(self.cfg.size_kb * 1024 * factor)

    def grade(self, session: SimSession, outcome: str, criteria: list[dict[str, Any]], threshold: float) -> None:
        total = sum(c.get("weight", 1) for c in criteria) or 1
        score = round(sum(c.get("weight", 1) for c in criteria if c["passed"]) / total, 3)
        result = "satisfied" if score >= threshold else "needs_revision"
        ts_ms = session.t + 2_000
        self._grade_n += 1
        append_grade(self.ws, {
            "ts": iso_ms(ts_ms), "grade_id": ulid_at(ts_ms, self.rng.getrandbits(80)),
            "session_id": session.sid, "outcome": outcome, "spec_hash": f"sha256:{outcome}-v1",
            "result": result, "score": score, "threshold": threshold,
            "criteria": [{"flaky": False, **c} for c in criteria], "grader_model": DEFAULT_GRADER_MODEL,
            "usage": {"input_tokens": 900 + self.rng.randrange(600), "output_tokens": 120},
            "trials": 1, "error": None,
        })
        self.manifest.grades += 1
        for c in criteria:
            if not c["passed"]:
                session.plant(f"criterion-{c['id']}")
        session.evaluation(outcome, result, score, criteria)

    def remember(self, path: str, text: str, t_ms: int) -> None:
        self.memory_notes[path] = (text, t_ms)


class SimSession:
    """One session being written: a clock, tool-use ids, token usage and totals."""

    def __init__(self, gen: Generator, sid: str, t0_ms: int, episode: str, start: dict[str, Any]) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.sid = sid
        self.episode = episode
        self.t = t0_ms
        self.model = start.get("model") or DEFAULT_AGENT_MODEL
        self.writer = SessionWriter(gen.ws, session_id=sid, fsync=False)  # test data: no per-file fsync
        self.context = 1800  # tokens in context (system prompt, tools)
        self.cost_factor = 1.0
        self.budget = self._budget0 = gen.target_bytes()
        self.totals = {"turns": 0, "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
                       "cache_write_tokens": 0, "cost_usd": 0.0, "tool_calls": 0, "tool_errors": 0}
        self._tool_n = 0
        self._t0 = t0_ms
        self.tag = (start.get("tags") or ["misc"])[0]
        self.writer.start(ts=self._ts(0), model=self.model, source="synthetic", base_url_host="api.anthropic.com",
                          **start)

    def _ts(self, step_ms: int) -> str:
        self.t += step_ms
        return iso_ms(self.t)

    def plant(self, key: str) -> None:
        self.gen.manifest.plant(key, self.episode)

    # --- messages --------------------------------------------------------------------------------
    def user(self, text: str) -> None:
        self.context += len(text) // 4
        self.writer.message("user", [{"type": "text", "text": text}], ts=self._ts(self.rng.randrange(5, 40)))

    def assistant(self, text: str | None = None, tool: tuple[str, dict[str, Any]] | None = None) -> str | None:
        content: list[dict[str, Any]] = []
        if text:
            content.append({"type": "text", "text": text})
        tool_id = None
        if tool is not None:
            self._tool_n += 1
            tool_id = f"toolu_{self.sid[-8:].lower()}{self._tool_n:04d}"
            content.append({"type": "tool_use", "id": tool_id, "name": tool[0], "input": tool[1]})
        out_tokens = 20 + len(json.dumps(content)) // 4
        cached = int(self.context * 0.7)
        usage = {"input_tokens": int((self.context - cached) * self.cost_factor), "output_tokens": out_tokens,
                 "cache_read_input_tokens": int(cached * self.cost_factor), "cache_creation_input_tokens": 0}
        cost = round(cost_usd(self.model, usage), 6)
        latency = 600 + self.rng.randrange(2500)
        self.writer.message("assistant", content, ts=self._ts(latency), model=self.model,
                            stop_reason="tool_use" if tool else "end_turn", usage=usage, latency_ms=latency,
                            cost_usd=cost)
        self.context += out_tokens
        t = self.totals
        t["turns"] += 1
        t["input_tokens"] += usage["input_tokens"]
        t["output_tokens"] += out_tokens
        t["cache_read_tokens"] += usage["cache_read_input_tokens"]
        t["cost_usd"] = round(t["cost_usd"] + cost, 6)
        return tool_id

    def call(self, name: str, tool_input: dict[str, Any], output: str, *, error: str | None = None,
             exit_code: int | None = None, text: str | None = None, truncated: bool = False) -> None:
        """The assistant calls a tool; the tool runs; its result goes back as a user message.
        `error` is the error kind (`exception`, `exit_nonzero`, ...) for a failed call."""
        tool_id = self.assistant(text, (name, tool_input))
        assert tool_id is not None
        self.result(tool_id, name, output, error=error, exit_code=exit_code, truncated=truncated)

    def result(self, tool_id: str, name: str, output: str, *, error: str | None = None,
               exit_code: int | None = None, truncated: bool = False) -> None:
        duration = round(2 + self.rng.random() * (400 if name == "bash" else 20), 1)
        self.writer.tool(tool_use_id=tool_id, name=name, duration_ms=duration, exit_code=exit_code,
                         error_kind=error, truncated=truncated, ts=self._ts(int(duration) + 1))
        self.writer.message("user", [{"type": "tool_result", "tool_use_id": tool_id, "is_error": error is not None,
                                      "content": output}], ts=self._ts(1))
        self.context += len(output) // 4
        self.totals["tool_calls"] += 1
        if error is not None:
            self.totals["tool_errors"] += 1

    def body(self, kind: str, share: float = 0.25) -> str:
        """Realistic tool output of `share` of this session's size budget (less when little is left)."""
        from dreamcli.sessions.synthetic_text import filler

        n = max(120, min(int(self._budget0 * share), self.budget))
        self.budget = max(0, self.budget - n)
        return filler(self.rng, kind, n)

    def evaluation(self, outcome: str, result: str, score: float, criteria: list[dict[str, Any]]) -> None:
        self.writer.evaluation(ts=self._ts(1500), outcome=outcome, iteration=1, result=result,
                               explanation="All criteria pass." if result == "satisfied" else
                               "Some criteria fail: " + ", ".join(c["id"] for c in criteria if not c["passed"]),
                               score=score, criteria=criteria, grader_model=DEFAULT_GRADER_MODEL,
                               usage={"input_tokens": 900, "output_tokens": 120})
        self._outcome = {"result": result, "score": score, "iterations": 1}

    def subagent(self, event: str, child: str, brief: str, status: str | None = None) -> None:
        self.writer.subagent(event=event, child_session_id=child, brief=brief, status=status, ts=self._ts(5))

    def end(self, status: str = "completed", error: str | None = None) -> int:
        if self.budget > 1024:  # use up the size budget: a last look at reference material
            kind = {"legal": "contract", "ci": "log", "medical": "records"}.get(self.tag, "code")
            self.call("read", {"file_path": "REFERENCE.md"}, self.body(kind, 1.0))
            self.assistant("Checked the reference notes; nothing else to change.")
        totals = dict(self.totals, duration_ms=self.t - self._t0)
        extra = {"outcome": self._outcome} if getattr(self, "_outcome", None) else {}
        self.writer.end(status, error=error, totals=totals, ts=self._ts(20), **extra)
        size = self.writer.path.stat().st_size
        self.gen.manifest.bytes += size
        return size


def generate(ws: Workspace, cfg: GenConfig) -> Manifest:
    """Write `cfg.sessions` sessions (plus their grades and memory store) into workspace `ws`."""
    from dreamcli.sessions import synthetic_scenarios as sc

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
        index += sc.SCENARIOS[scenario](gen, index, remaining)
        gen.manifest.episodes += 1
    _write_memory(ws, gen)
    gen.manifest.noise_terms = list(gen.noise.used)
    return gen.manifest


def _write_memory(ws: Workspace, gen: Generator) -> None:
    import os

    root = ws.memory_store(gen.cfg.memory_store) / "memories"
    for path, (text, t_ms) in sorted(gen.memory_notes.items()):
        target = root / path.removeprefix("/memories/")
        atomic_write_text(target, text, fsync=False)
        os.utime(target, (t_ms / 1000, t_ms / 1000))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dreamcli.sessions.synthetic", description=__doc__.split("\n\n")[0])
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


if __name__ == "__main__":
    raise SystemExit(main())
