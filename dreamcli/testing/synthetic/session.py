"""The state of one synthetic generation run: its config, the manifest of planted patterns, the
shared clock / ids / noise (`Generator`) and the session being written (`SimSession`). The scenarios
(`scenarios`) drive these; `generate` (in `generate`) runs them."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dreamcli.models import DEFAULT_AGENT_MODEL, DEFAULT_GRADER_MODEL, cost_usd
from dreamcli.outcomes.store import append_grade
from dreamcli.sessions.writer import SessionWriter
from dreamcli.testing.synthetic.text import NoisePool, filler
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
