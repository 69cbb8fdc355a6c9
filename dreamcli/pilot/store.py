"""Where a pilot keeps what it measured, next to the proposal (docs/pilot.md, "Files"):

- `dreams/<id>/pilot-trials.jsonl`: one line per finished trial, appended as it ends (so Ctrl-C keeps
  every finished trial); a re-run of the same plan reads it to skip the trials already scored, keyed
  by (task, arm, index). An unscored trial's line (`"scored": false`) only keeps what it cost: a
  re-run runs that trial again.
- `dreams/<id>/pilot.json`: one record per pilot run with its statistics (`runs`, appended; earlier
  records are never changed). Rewritten atomically (temp file + rename, 0600) under a lock, so
  two pilots finishing at once both land. Read back by `dreamcli.playbooks.pilot_file`.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from dreamcli.errors import InputError
from dreamcli.numbers import finite
from dreamcli.playbooks.pilot_file import PILOT_FILE, PILOT_SCHEMA_VERSION
from dreamcli.workspace.fsutil import append_line, atomic_write_text
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

TRIALS_FILE = "pilot-trials.jsonl"
TRIAL_SCHEMA_VERSION = 1


def dream_dir(ws: Workspace, dream_id: str) -> Path:
    return ws.dreams_dir / dream_id


class TrialJournal:
    """The finished trials of a dream's pilots (thread-safe appends)."""

    def __init__(self, ws: Workspace, dream_id: str) -> None:
        self.path = dream_dir(ws, dream_id) / TRIALS_FILE
        self._lock = threading.Lock()

    def read(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        try:
            with open(self.path, "rb") as f:
                for raw in f:
                    try:
                        rec = json.loads(raw)
                    except (ValueError, RecursionError):
                        continue  # a torn last line (killed mid-write): that trial runs again
                    if isinstance(rec, dict) and rec.get("v") == TRIAL_SCHEMA_VERSION and trial_problem(rec) is None:
                        out.append(rec)  # a wrong-typed line is skipped like a torn one: that trial runs again
        except FileNotFoundError:
            pass
        return out

    def latest_pilot(self, plan_key: str) -> str | None:
        """The id of the last pilot run with this plan (to resume it), if any."""
        ids = [r.get("pilot_id") for r in self.read() if r.get("plan") == plan_key]
        return str(ids[-1]) if ids and ids[-1] else None

    def done(self, pilot_id: str) -> dict[tuple[str, str, int], dict[str, Any]]:
        """(task key, arm, index) -> the scored trial of this pilot (a later line wins)."""
        out: dict[tuple[str, str, int], dict[str, Any]] = {}
        for r in self.read():
            if r.get("pilot_id") == pilot_id and r["scored"]:
                out[(r["task_key"], r["arm"], r["index"])] = r
        return out

    def unscored(self, pilot_id: str) -> list[dict[str, Any]]:
        """The trials of this pilot that ended unscored (each ran again, or will): what they cost counts."""
        return [r for r in self.read() if r.get("pilot_id") == pilot_id and not r["scored"]]

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps({"v": TRIAL_SCHEMA_VERSION, **record}, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            append_line(self.path, line, fsync=True)


_KEYS = ("pilot_id", "plan", "task_key", "arm")  # strings a trial is found by
_TEXT = ("dream_id", "task", "session_id", "status", "error", "outcome", "ts")  # strings or null
_COUNTS = ("cost_usd", "agent_cost_usd", "grader_cost_usd", "tokens", "grader_tokens", "turns", "wall_s",
           "iterations")  # finite numbers, 0 or more, or null


def trial_problem(rec: dict[str, Any]) -> str | None:
    """None when a journal line has the types a pilot writes (`runner._record`); else the first wrong
    field. A string score or cost, a count no float holds (10**400) or `"passed": "no"` made a resumed
    pilot pay for new trials and then fail, or count a failure as a pass."""
    for key in _KEYS:
        if not isinstance(rec.get(key), str):
            return key
    index = rec.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        return "index"
    for key in ("passed", "scored"):
        if not isinstance(rec.get(key), bool):
            return key
    for key in _TEXT:
        if rec.get(key) is not None and not isinstance(rec[key], str):
            return key
    if rec.get("score") is not None and finite(rec["score"]) is None:
        return "score"
    for key in _COUNTS:
        value = rec.get(key)
        if value is not None and ((number := finite(value)) is None or number < 0):
            return key
    return None


def append_result(ws: Workspace, dream_id: str, result: dict[str, Any]) -> Path:
    """Add one run's result to `dreams/<id>/pilot.json` (atomic rewrite, earlier runs kept as they were)."""
    path = dream_dir(ws, dream_id) / PILOT_FILE
    with workspace_lock(ws, f"pilot-{dream_id}", wait=30):
        runs = _existing_runs(path)
        runs.append(result)
        doc = {"v": PILOT_SCHEMA_VERSION, "dream_id": dream_id, "runs": runs}
        atomic_write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return path


def _existing_runs(path: Path) -> list[Any]:
    """The runs already recorded; a file that exists but does not read is refused, never replaced."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise InputError(f"cannot read the earlier pilot results ({e}); move the file aside to start a new one",
                         file=str(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise InputError("not a pilot results file (no `runs` list); move it aside to start a new one",
                         file=str(path))
    return list(data["runs"])
