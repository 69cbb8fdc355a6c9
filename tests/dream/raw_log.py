"""Session logs written line by line as docs/session-log.md describes them, with no redaction on the way
(`SessionWriter` redacts what it writes): a log from before a redaction rule existed, or from before
config `redaction.patterns` named a secret. Then an offline dream over them through the CLI."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing.synthetic.session import iso_ms, ulid_at
from dreamcli.workspace.home import Workspace

T0 = 1_790_000_000_000  # 2026-09
HOUR = 3_600_000


class RawSession:
    """One session: `call` a tool (its result an error or not), `say` as the agent, `user` text, then `end`."""

    def __init__(self, ws: Workspace, hour: int, *, task: str = "contract-review", prompt: str = "Do it.") -> None:
        self.t = T0 + hour * HOUR
        self.seq = self.n = 0
        self.sid = ulid_at(self.t, random.Random(self.t).getrandbits(80))
        day = datetime.fromtimestamp(self.t / 1000, UTC)
        self.path = ws.sessions_dir / f"{day:%Y/%m/%d}" / f"{self.sid}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lines: list[str] = []
        self.emit("session.start", task={"name": task, "prompt": prompt}, model="claude-sonnet-4-5", playbooks=[],
                  parent_session_id=None, workdir="/tmp/w", source="dreamcli")
        self.user(prompt)

    def emit(self, type_: str, **fields: Any) -> int:
        self.t += 1000
        self.lines.append(json.dumps({"v": 1, "type": type_, "ts": iso_ms(self.t), "session_id": self.sid,
                                      "seq": self.seq, **fields}))
        self.seq += 1
        return self.seq - 1

    def user(self, text: str) -> int:
        return self.emit("message", role="user", content=[{"type": "text", "text": text}])

    def say(self, text: str) -> int:
        return self.emit("message", role="assistant", content=[{"type": "text", "text": text}])

    def call(self, name: str, tool_input: dict[str, Any], output: str, *, error: bool = False, said: str = "") -> int:
        self.n += 1
        tid = f"toolu_{self.sid[-6:]}_{self.n}"
        text = [{"type": "text", "text": said}] if said else []
        self.emit("message", role="assistant", content=[*text, {"type": "tool_use", "id": tid, "name": name,
                                                                "input": tool_input}])
        self.emit("tool", tool_use_id=tid, name=name, duration_ms=5.0,
                  error_kind=("exit_nonzero" if name == "bash" else "exception") if error else None)
        return self.emit("message", role="user", content=[{"type": "tool_result", "tool_use_id": tid,
                                                           "is_error": error, "content": output}])

    def end(self) -> str:
        self.emit("session.end", status="completed", totals={"cost_usd": 0.003})
        self.path.write_text("\n".join(self.lines) + "\n")
        return self.sid


def dream(ws: Workspace) -> dict[str, Any]:
    """An offline dream through the CLI (`--json`): its summary."""
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def written(ws: Workspace) -> str:
    """Every file the dream wrote: the proposal, its report and the dream's state."""
    files = sorted(p for d in (ws.dreams_dir, ws.state_dir) for p in Path(d).rglob("*") if p.is_file())
    return "\n".join(p.read_text(errors="replace") for p in files)


def entry_texts(result: dict[str, Any]) -> list[str]:
    return [op.get("text") or "" for op in result["operations"]]
