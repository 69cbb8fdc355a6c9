"""The kill -9 torture harness (issue 21, docs/reliability.md). Each trial copies a prepared
workspace, starts one real `dreamcli` process (dream, approve, revert, sessions import, bundle import
or run), SIGKILLs it at a random moment or lets it kill itself at a named step (DREAMCLI_CRASH_AT,
`dreamcli.faults`), then runs the next command (`sessions list`, which recovers first), re-runs the
killed command to completion and checks the invariants of `torture_checks`: every file parses, the
audit chain verifies and accounts for every live change, no duplicate live entry, no stray temp
file, every next command exits 0, and the end state equals that of an uninterrupted run (a serial
order: the killed command either happened once or not at all before its re-run).

    python bench/torture.py --trials 500 --seed 21
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dreamcli.testing.torture_checks import problems, state_digest
from dreamcli.workspace.home import Workspace

STEPS: dict[str, list[str]] = {
    "dream": ["dream.intent", "dream.written", "dream.superseded", "dream.state"],
    "approve": ["approve.intent", "commit.history", "commit.live"],
    "revert": ["revert.intent", "commit.history", "commit.live"],
    "import": ["sessions-import.intent", "sessions-import.moved", "sessions-import.audited"],
    "bundle": ["import.intent", "bundle.history", "bundle.live", "bundle.audited", "sessions-import.moved",
               "sessions-import.audited"],
    "run": [],
}
RANDOM_MAX_S = {"dream": 1.6, "run": 1.6, "import": 1.2}  # else 1.0: a kill falls within the command
SECRET = "sk-ant-api03-" + "Zq9XvT3kLm8NpR2sWb7YcD4fGh6JtK1uEa5"


@dataclass
class Trial:
    command: str
    how: str  # step name, or "random:<seconds>"
    killed: bool = False
    failures: list[str] = field(default_factory=list)


@dataclass
class Report:
    seed: int
    trials: list[Trial] = field(default_factory=list)

    def by_command(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for t in self.trials:
            row = out.setdefault(t.command, {"trials": 0, "killed": 0, "failures": 0})
            row["trials"] += 1
            row["killed"] += int(t.killed)
            row["failures"] += int(bool(t.failures))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "trials": len(self.trials), "kills": sum(t.killed for t in self.trials),
                "failures": [{"command": t.command, "how": t.how, "failures": t.failures}
                             for t in self.trials if t.failures],
                "by_command": self.by_command()}


def _env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DREAMCLI_"))}
    env.update({"DREAMCLI_HOME": str(home), "DREAMCLI_ACTOR": "torture", "NO_COLOR": "1"})
    env.update(extra or {})
    return env


def cli(home: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dreamcli", "--home", str(home), *args], env=_env(home, env),
                          capture_output=True, text=True, timeout=timeout, check=False)


class Harness:
    """Prepared workspaces and the commands to torture, built once in `root`."""

    def __init__(self, root: Path, *, transcripts: Path, fake_url: str | None = None) -> None:
        self.root = root
        self.transcripts = transcripts
        self.fake_url = fake_url
        self.template = root / "template"
        self.bundle = root / "shared.dcbundle"
        self.task = root / "task.yaml"
        self.expected: dict[str, dict[str, Any]] = {}

    def prepare(self) -> None:
        from dreamcli.config import Config
        from dreamcli.dream.engine import DreamOptions, run_dream
        from dreamcli.playbooks.approval import approve
        from dreamcli.testing.synthetic import GenConfig, generate

        ws = Workspace(self.template, "option").ensure_layout()
        generate(ws, GenConfig(sessions=30, seed=5, size_kb=2, start=datetime(2026, 10, 1, tzinfo=UTC), days=10))
        first = run_dream(ws, Config(), DreamOptions())
        ops = [o.entry_id for o in first.operations if o.op == "add"]
        approve(ws, str(first.dream_id), entry_ids=ops[: max(1, len(ops) // 3)], actor="seed", force=True)
        approve(ws, str(first.dream_id), entry_ids=ops[max(1, len(ops) // 3): max(2, 2 * len(ops) // 3)],
                actor="seed", force=True)
        generate(ws, GenConfig(sessions=20, seed=6, size_kb=2, start=datetime(2026, 10, 20, tzinfo=UTC), days=5))
        self.dream_id = str(first.dream_id)
        other = Workspace(self.root / "other", "option").ensure_layout()
        generate(other, GenConfig(sessions=20, seed=9, size_kb=2, start=datetime(2026, 9, 1, tzinfo=UTC), days=5))
        theirs = run_dream(other, Config(), DreamOptions(playbook="shared"))
        approve(other, str(theirs.dream_id), all_=True, actor="other", force=True, include_tainted=True)
        res = cli(other.root, "export", "--format", "bundle", "-o", str(self.bundle), "--history",
                  "--include-sessions")
        if res.returncode != 0:
            raise RuntimeError(f"export failed: {res.stderr}")
        self.task.write_text("name: torture\nprompt: note what you learned\ntools: [memory]\n", encoding="utf-8")
        for command in STEPS:
            if command != "run":
                home = self.fresh("expected-" + command)
                self.finish(home, command)
                self.expected[command] = state_digest(Workspace(home, "option"))

    def args(self, command: str) -> list[str]:
        return {
            "dream": ["dream", "--wait", "30"],
            "approve": ["playbooks", "approve", self.dream_id, "--all", "--force", "--include-tainted", "--yes",
                        "--wait", "30"],
            "revert": ["playbooks", "revert", "default", "1", "--yes", "--wait", "30"],
            "import": ["sessions", "import", "claude-code", str(self.transcripts)],
            "bundle": ["import", str(self.bundle), "--wait", "30"],
            "run": ["run", str(self.task), "--yes", "--quiet"],
        }[command]

    def fresh(self, name: str) -> Path:
        home = self.root / name
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(self.template, home, symlinks=True)
        return home

    def model_env(self) -> dict[str, str]:
        return {"ANTHROPIC_BASE_URL": self.fake_url, "ANTHROPIC_API_KEY": "sk-ant-test-fake"} if self.fake_url else {}

    def finish(self, home: Path, command: str) -> subprocess.CompletedProcess[str]:
        return cli(home, *self.args(command), env=self.model_env())

    def trial(self, command: str, how: str, rng: random.Random, name: str) -> Trial:
        home = self.fresh(name)
        t = Trial(command, how)
        env = self.model_env()
        if how.startswith("random:"):
            proc = subprocess.Popen([sys.executable, "-m", "dreamcli", "--home", str(home), *self.args(command)],
                                    env=_env(home, env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(float(how.split(":", 1)[1]))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                t.killed = True
            proc.wait()
        else:
            res = cli(home, *self.args(command), env={**env, "DREAMCLI_CRASH_AT": how})
            t.killed = res.returncode == -signal.SIGKILL
            if not t.killed:
                t.failures.append(f"step {how} was never reached (exit {res.returncode}: {res.stderr.strip()[-200:]})")
        self.check(home, command, t)
        if not t.failures:
            shutil.rmtree(home, ignore_errors=True)
        return t

    def check(self, home: Path, command: str, t: Trial) -> None:
        nxt = cli(home, "sessions", "list", "--limit", "1")
        if nxt.returncode != 0:
            t.failures.append(f"next command exit {nxt.returncode}: {nxt.stderr.strip()[-300:]}")
        ws = Workspace(home, "option")
        t.failures += [f"after recovery: {p}" for p in problems(ws)]
        done = self.finish(home, command)
        if done.returncode not in (0, 1) or "internal error" in done.stderr:
            t.failures.append(f"re-run exit {done.returncode}: {done.stderr.strip()[-300:]}")
        t.failures += [f"after re-run: {p}" for p in problems(ws)]
        from dreamcli.playbooks.audit_verify import verify_audit  # `playbooks audit --verify`, in-process

        verified = verify_audit(ws)
        if not verified.ok:
            t.failures.append(f"audit --verify: {verified.first_problem()}")
        if command in self.expected and state_digest(ws) != self.expected[command]:
            t.failures.append("end state differs from an uninterrupted run")
        if command == "run":
            for path in (ws.root / "memory").rglob("*.md"):
                if SECRET in path.read_text(encoding="utf-8", errors="replace"):
                    t.failures.append(f"secret written to {path.name}")


def plan(seed: int, trials: int, commands: list[str]) -> list[tuple[str, str]]:
    """Every named step of every command once, then random kill times, `trials` in all."""
    rng = random.Random(seed)
    out = [(c, s) for c in commands for s in STEPS[c]]
    while len(out) < trials:
        c = commands[len(out) % len(commands)]
        out.append((c, f"random:{rng.uniform(0.05, RANDOM_MAX_S.get(c, 1.0)):.3f}"))
    return out[:trials] if trials >= len([s for c in commands for s in STEPS[c]]) else out


def torture(root: Path, *, seed: int, trials: int, transcripts: Path, commands: list[str] | None = None,
            fake_url: str | None = None, progress: Callable[[Trial], None] | None = None,
            workers: int = 1) -> Report:
    commands = commands or [c for c in STEPS if c != "run" or fake_url]
    h = Harness(root, transcripts=transcripts, fake_url=fake_url)
    h.prepare()
    report = Report(seed)
    rng = random.Random(seed)
    todo = list(enumerate(plan(seed, trials, commands)))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # trials are separate processes
        for t in pool.map(lambda job: h.trial(job[1][0], job[1][1], rng, f"t{job[0]}"), todo):
            report.trials.append(t)
            if progress is not None:
                progress(t)
    return report


def responder_for_runs() -> Callable[[Any], Any]:
    """FakeAnthropic responder: the agent writes a memory note with a secret in it, then answers."""
    from dreamcli.testing import text_reply, tool_reply, tool_use

    def respond(req: Any) -> Any:
        last = req.messages[-1]["content"] if req.messages else ""
        if isinstance(last, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in last):
            return text_reply("Noted.")
        note = f"Use key {SECRET} for the build.\n"
        return tool_reply(tool_use("memory", {"command": "create", "path": f"/memories/n{time.time_ns()}.md",
                                              "file_text": note}))

    return respond


def dump(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2)
