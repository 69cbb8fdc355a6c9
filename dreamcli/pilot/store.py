"""Where a pilot keeps what it measured, next to the proposal (docs/pilot.md, "Files"):

- `dreams/<id>/pilot-trials.jsonl`: one line per finished trial, appended as it ends (so Ctrl-C keeps
  every finished trial); a re-run of the same plan reads it to skip the trials already done, keyed
  by (task, arm, index).
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
                    if isinstance(rec, dict) and rec.get("v") == TRIAL_SCHEMA_VERSION:
                        out.append(rec)
        except FileNotFoundError:
            pass
        return out

    def latest_pilot(self, plan_key: str) -> str | None:
        """The id of the last pilot run with this plan (to resume it), if any."""
        ids = [r.get("pilot_id") for r in self.read() if r.get("plan") == plan_key]
        return str(ids[-1]) if ids and ids[-1] else None

    def done(self, pilot_id: str) -> dict[tuple[str, str, int], dict[str, Any]]:
        """(task key, arm, index) -> the recorded trial of this pilot (a later line wins)."""
        out: dict[tuple[str, str, int], dict[str, Any]] = {}
        for r in self.read():
            if r.get("pilot_id") == pilot_id:
                out[(str(r.get("task_key")), str(r.get("arm")), int(r.get("index", -1)))] = r
        return out

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps({"v": TRIAL_SCHEMA_VERSION, **record}, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            append_line(self.path, line, fsync=True)


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
