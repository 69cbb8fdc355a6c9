"""Fuzz the commands with inputs they did not write: session logs, other agents' transcripts, a workspace's
other files and bundles, each with values swapped for odd ones (markup, numbers where text belongs, NaN,
integers past 64 bits, lists where names belong, lists nested 700 and 960 deep). A trial fails when a
command ends with an internal error (a traceback), whatever its exit code: a bad input must give data, a
note or a one-line error.

A fifth target, **tools**, has a scripted model (FakeAnthropic on 127.0.0.1) call the agent's tools with odd
inputs; a trial also fails when a file outside the working directory changed.

Run from the repo root: `python bench/fuzz_cli.py [--target logs|transcripts|files|bundles|tools] [--trials 30]
[--seed 1] [--keep DIR]`. Prints one line per failed trial and a summary; exits 1 when any failed.
Commands run in this process through Typer's CliRunner, in workspaces under a temporary directory.
To fuzz another tree of the code: `PYTHONPATH=TREE python bench/fuzz_cli.py` (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(ROOT))
os.environ["DREAMCLI_CONFIG"] = os.devnull
os.environ.setdefault("DREAMCLI_TRUST_FILE", os.path.join(tempfile.mkdtemp(prefix="fuzz-trust-"), "t.json"))

from typer.testing import CliRunner  # noqa: E402

from dreamcli.cli.app import app  # noqa: E402


def nested(depth: int) -> Any:
    """A list inside a list, `depth` deep: JSON the decoders take that recursive code cannot walk again."""
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


ODD: list[Any] = [None, True, False, 0, -1, 10**400, -(10**30), 1.5, 1e308, float("nan"), float("inf"), "", "x",
                  "[/]", "\u202e[bold]", "a" * 3000, [], [1], {}, {"a": 1}, [{"type": "text", "text": 5}],
                  "2026-13-45T99:99:99Z", 2**63, nested(700), {"a": nested(960)}]
TOOL_KEYS = {"bash": ["command", "timeout", "restart"], "read": ["path", "offset", "limit"],
             "write": ["path", "content"], "edit": ["path", "old_string", "new_string", "replace_all"],
             "glob": ["pattern", "path"], "grep": ["pattern", "path", "glob"],
             "memory": ["command", "path", "file_text", "old_str", "new_str", "insert_line", "insert_text",
                        "view_range", "old_path", "new_path"]}
PATHS = ["../outside/secret.txt", "/etc/passwd", "sub/../../outside/x", "link/secret.txt", "~/.ssh/id_rsa",
         "**/*", "a.txt", "/memories/../../x", "/memories/a.md", "\x00", "a\nb", "[/]"]
FIDELITY = ROOT / "tests" / "sessions" / "fidelity"
SPEC = ROOT / "sample_outcomes" / "contract-review.yaml"


def invoke(home: Path, args: list[str]) -> str | None:
    """None when the command ended as data, a note or an error line; else the end of its traceback."""
    r = CliRunner().invoke(app, ["--debug", "--home", str(home), *args])
    if "internal error" in (r.output or "") or (r.exception is not None and not isinstance(r.exception, SystemExit)):
        return (r.output or repr(r.exception))[-400:].replace("\n", " | ")
    return None


class Fuzz:
    def __init__(self, rnd: random.Random, work: Path) -> None:
        self.rnd, self.work = rnd, work

    def odd(self) -> Any:
        return self.rnd.choice(ODD)

    def mutate(self, obj: Any, p: float) -> Any:
        if isinstance(obj, dict):
            return {k: (self.odd() if self.rnd.random() < p else self.mutate(v, p))
                    for k, v in obj.items() if self.rnd.random() > p / 4}
        if isinstance(obj, list):
            return [self.mutate(v, p) for v in obj if self.rnd.random() > p / 4]
        return obj

    def fresh(self, name: str) -> Path:
        home = self.work / name
        shutil.rmtree(home, ignore_errors=True)
        CliRunner().invoke(app, ["--home", str(home), "init"])
        return home

    # --- session logs ------------------------------------------------------------------------------
    def logs(self) -> tuple[Path, list[list[str]]]:
        home = self.fresh("logs")
        day = home / "sessions" / "2026" / "10" / "01"
        day.mkdir(parents=True, exist_ok=True)
        ids = [f"01K0000000000000000000000{k}" for k in "ABC"]
        for sid in ids:
            (day / f"{sid}.jsonl").write_text(self._log(sid))
        return home, [["sessions", "list"], ["sessions", "list", "--json"], ["sessions", "reindex"],
                      ["sessions", "show", ids[0]], ["sessions", "show", ids[1], "--json"],
                      ["sessions", "show", ids[2], "--html", str(home / "s.html")],
                      ["grade", *ids, "--checks-only", "--outcome", str(SPEC), "--json"],
                      ["export", "sessions", str(home / "pq"), "--format", "parquet"],
                      ["dream", "--offline", "--all"], ["playbooks", "diff", "--json"]]

    def _log(self, sid: str) -> str:
        ts, env = "2026-10-01T10:00:00.000Z", {"v": 1, "session_id": sid}
        lines: list[dict[str, Any]] = [{**env, "type": "session.start", "ts": ts, "seq": 0, "source": "dreamcli",
                                        "task": {"name": "t", "prompt": "p"}, "model": "m", "tags": []}]
        for i in range(self.rnd.randint(1, 12)):
            kind = self.rnd.choice(["assistant", "user", "tool", "outcome.evaluation", "subagent"])
            e: dict[str, Any] = {**env, "ts": ts, "seq": i + 1}
            if kind == "assistant":
                e.update(type="message", role="assistant", cost_usd=self.rnd.choice([0.1, self.odd()]),
                         usage={"input_tokens": self.rnd.choice([10, self.odd()]), "output_tokens": 5},
                         content=[{"type": "tool_use", "id": f"tu{i}", "name": self.rnd.choice(["bash", self.odd()]),
                                   "input": self.rnd.choice([{"command": "pytest -q"}, self.odd()])},
                                  {"type": "text", "text": self.rnd.choice(["ok", self.odd()])}])
            elif kind == "user":
                e.update(type="message", role="user", content=self.rnd.choice([
                    [{"type": "tool_result", "tool_use_id": f"tu{i - 1}", "is_error": self.odd(),
                      "content": self.rnd.choice(["boom", self.odd()])}], "no, not again", self.odd()]))
            elif kind == "tool":
                e.update(type="tool", tool_use_id=f"tu{i}", name="bash", duration_ms=self.odd(),
                         exit_code=self.odd(), error_kind=self.odd(), truncated=self.odd())
            elif kind == "outcome.evaluation":
                e.update(type=kind, outcome=self.odd(), iteration=self.odd(), result=self.odd(), score=self.odd(),
                         criteria=[{"id": "c", "passed": False, "reason": self.odd()}])
            else:
                e.update(type="subagent", event=self.odd(), child_session_id=self.odd(), status=self.odd())
            lines.append(e)
        lines.append({**env, "type": "session.end", "ts": ts, "seq": 99, "status": self.odd(),
                      "totals": {"turns": self.odd(), "input_tokens": self.odd(), "cost_usd": self.odd()},
                      "outcome": self.rnd.choice([None, {"result": self.odd(), "score": self.odd()}])})
        return "".join(json.dumps(x) + "\n" for x in lines)

    # --- other agents' transcripts -------------------------------------------------------------------
    def transcripts(self) -> tuple[Path, list[list[str]]]:
        kind = self.rnd.choice(["claude-code", "codex"])
        src, home = self.work / "in", self.fresh("transcripts")
        shutil.rmtree(src, ignore_errors=True)
        for f in sorted((FIDELITY / kind).rglob("*.jsonl")):
            dest = src / f.relative_to(FIDELITY / kind)
            dest.parent.mkdir(parents=True, exist_ok=True)
            out = []
            for raw in f.read_text().splitlines():
                try:
                    obj = json.loads(raw)
                except ValueError:
                    out.append(raw)
                    continue
                odd = self.rnd.random() < 0.5
                out.append(json.dumps(self.mutate(obj, self.rnd.choice([0.02, 0.1, 0.3]))) if odd else raw)
            dest.write_text("\n".join(out) + "\n")
        return home, [["sessions", "import", kind, str(src), "--dry-run", "--json"],
                      ["sessions", "import", kind, str(src), "--workers", "1"], ["sessions", "list", "--json"],
                      ["dream", "--offline", "--all"]]

    # --- a workspace's other files --------------------------------------------------------------------
    def files(self, base: Path) -> tuple[Path, list[list[str]]]:
        home = self.work / "files"
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(base, home)
        targets: dict[str, Callable[[], None]] = {
            "grades": lambda: self._jsonl(home / "grades" / "grades.jsonl", 0.3),
            "audit": lambda: self._jsonl(home / "audit.jsonl", 0.2),
            "proposal": lambda: self._json((home / "dreams").glob("*/proposal.json"), 0.1),
            "state": lambda: self._json((home / "state" / "dream").rglob("*.json"), 0.2),
        }
        targets[self.rnd.choice(sorted(targets))]()
        return home, [["sessions", "list"], ["sessions", "list", "--json"], ["playbooks", "list"],
                      ["playbooks", "diff"], ["playbooks", "history", "default"], ["dream", "--offline", "--all"],
                      ["playbooks", "approve", "--all", "--yes"], ["export", "-o", str(home / "b.tar.gz"), "--force"],
                      ["playbooks", "diff", "--html", str(home / "r.html")], ["playbooks", "audit", "--verify"]]

    def _jsonl(self, path: Path, p: float) -> None:
        if path.exists():
            path.write_text("".join(json.dumps(self.mutate(json.loads(raw), p)) + "\n"
                                    for raw in path.read_text().splitlines()))

    def _json(self, paths: Iterable[Path], p: float) -> None:
        for path in paths:
            path.write_text(json.dumps(self.mutate(json.loads(path.read_text()), p)))

    # --- bundles ------------------------------------------------------------------------------------------
    def bundles(self, bundle: Path) -> tuple[Path, list[list[str]]]:
        with tarfile.open(bundle) as tf:
            files = {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}  # type: ignore[union-attr]
        manifest = self.mutate(json.loads(files["manifest.json"]), self.rnd.choice([0.0, 0.05, 0.2]))
        text = files["playbooks/default.md"].decode().splitlines()
        for _ in range(self.rnd.randint(0, 3)):
            text[self.rnd.randrange(len(text))] = self.rnd.choice(["[/]", "<!-- dreamcli:entry id=pb-x -->", "---"])
        files["playbooks/default.md"] = "\n".join(text).encode()
        if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict) and self.rnd.random() < 0.7:
            for name, meta in manifest["files"].items():  # checksums that match: the content checks run too
                if isinstance(meta, dict) and name in files:
                    meta.update(sha256=hashlib.sha256(files[name]).hexdigest(), bytes=len(files[name]))
        files["manifest.json"] = json.dumps(manifest).encode()
        home, out = self.fresh("bundles"), self.work / "odd.tar.gz"
        with tarfile.open(out, "w:gz") as tf:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        return home, [["import", str(out)], ["import", str(out), "--replace", "--json"], ["playbooks", "list"],
                      ["sessions", "list"], ["dream", "--offline", "--all"]]


    # --- the agent's tools, called by a scripted model --------------------------------------------------
    def tools(self, server: Any) -> tuple[Path, list[list[str]]]:
        from dreamcli.testing import text_reply, tool_reply

        wd, outside = self.work / "wd", self.work / "outside"
        for d in (wd, outside):
            shutil.rmtree(d, ignore_errors=True)
        (wd / "sub").mkdir(parents=True)
        (wd / "a.txt").write_text("alpha\n")
        outside.mkdir()
        (outside / "secret.txt").write_text("top secret\n")
        (wd / "link").symlink_to(outside)
        calls = []
        for i in range(self.rnd.randint(1, 4)):
            tool = self.rnd.choice(sorted(TOOL_KEYS))
            keys = self.rnd.sample(TOOL_KEYS[tool], self.rnd.randint(1, len(TOOL_KEYS[tool])))
            calls.append({"type": "tool_use", "id": f"toolu_{i}", "name": self.rnd.choice([tool, tool, "nope"]),
                          "input": {k: self.rnd.choice(PATHS if self.rnd.random() < 0.7 else ODD) for k in keys}})
        server.expect(tool_reply(*calls), text_reply("done"))
        home = self.fresh("tools")
        approve = ["--yes"] if self.rnd.random() < 0.5 else ["--allow", "echo *"]
        return home, [["run", "-p", "go", "--workdir", str(wd), *approve]]


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file() and not f.is_symlink():
            h.update(str(f).encode() + f.read_bytes())
    return h.hexdigest()


def sample_workspace(work: Path) -> tuple[Path, Path]:
    """A workspace with the bundled samples dreamed and approved, and its exported bundle."""
    CliRunner().invoke(app, ["init", str(work / "proj"), "--with-samples"])
    home = work / "proj" / ".dreamcli"
    for args in (["dream", "--offline", "--all"], ["playbooks", "approve", "--all", "--yes"],
                 ["export", "-o", str(work / "base.tar.gz"), "--history", "--include-sessions", "--force"]):
        CliRunner().invoke(app, ["--home", str(home), *args])
    return home, work / "base.tar.gz"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", action="append", choices=["logs", "transcripts", "files", "bundles", "tools"])
    ap.add_argument("--trials", type=int, default=30, help="trials per target")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="copy the workspaces of failed trials here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dreamcli-fuzz-"))
    base, bundle = sample_workspace(work / "base")
    failed = runs = 0
    from dreamcli.testing import FakeAnthropic

    server = FakeAnthropic().start()
    server.allow_leftovers = True
    os.environ.update(ANTHROPIC_BASE_URL=server.url, ANTHROPIC_API_KEY="sk-ant-fuzz")
    for target in args.target or ["logs", "transcripts", "files", "bundles", "tools"]:
        fz = Fuzz(random.Random(f"{args.seed}:{target}"), work)
        for trial in range(args.trials):
            home, commands = (fz.files(base) if target == "files" else fz.bundles(bundle) if target == "bundles"
                              else fz.tools(server) if target == "tools" else getattr(fz, target)())
            before = _digest(work / "outside") if target == "tools" else ""
            for command in commands:
                runs += 1
                problem = invoke(home, command)
                if problem is None and target == "tools" and _digest(work / "outside") != before:
                    problem = "a file outside the working directory changed"
                if problem is not None:
                    failed += 1
                    print(f"{target} trial {trial}: {' '.join(command[:3])}: {problem}")
                    if args.keep:
                        shutil.copytree(home, args.keep / f"{target}-{trial}", dirs_exist_ok=True)
                    break
    server.stop()
    shutil.rmtree(work, ignore_errors=True)
    print(f"{runs} command runs, {failed} trials ended in an internal error (seed {args.seed}, "
          f"{args.trials} trials per target)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
