"""The bundled sample sessions (dreamcli/data/sample_sessions/), so `dreamcli init --with-samples`
followed by `dreamcli dream --offline` shows what dreaming finds, with no API key.

The samples tell three teams' stories (`dreamcli.testing.sample_stories`: contract review with Word
files and scanned PDFs, medical summaries graded by a rubric, build-log triage with sub-agents, and a
few one-offs), are written through the synthetic generator's session writer and committed:

    sample_sessions/sessions/<id>.jsonl    the session logs (schema v1)
    sample_sessions/grades.jsonl           their grade records
    sample_sessions/memory/<path>          the memory notes the agents wrote (mtimes in mtimes.json)

Regenerate with `python -m dreamcli.testing.sample_sessions --rebuild`.
"""

from __future__ import annotations

import json
import os
from importlib.resources import files
from pathlib import Path

from dreamcli.sessions.paths import session_path
from dreamcli.workspace.fsutil import append_line, atomic_write_bytes
from dreamcli.workspace.home import Workspace

SAMPLE_SESSIONS = 40
SAMPLE_SEED = 5
SAMPLE_SIZE_KB = 0.3  # no filler: every line of a sample session is part of its story


def samples_dir() -> Path:
    return Path(str(files("dreamcli") / "data" / "sample_sessions"))


def install_samples(ws: Workspace, source: Path | None = None) -> int:
    """Copy the sample sessions, grades and memory notes into `ws`; returns the number of sessions
    added. Idempotent: what is already there is left alone."""
    src = source or samples_dir()
    sessions = sorted((src / "sessions").glob("*.jsonl"))
    if not sessions:
        raise FileNotFoundError(f"no sample sessions in {src}")
    ws.ensure_layout()
    added = 0
    for path in sessions:
        target = session_path(ws, path.stem)
        if target.exists():
            continue
        atomic_write_bytes(target, path.read_bytes(), fsync=False)
        added += 1
    _install_grades(ws, src / "grades.jsonl")
    _install_memory(ws, src / "memory")
    return added


def _install_grades(ws: Workspace, path: Path) -> None:
    if not path.exists():
        return
    have: set[str] = set()
    existing = ws.grades_file
    if existing.exists():
        for raw in existing.read_bytes().splitlines():
            try:
                have.add(str(json.loads(raw).get("grade_id")))
            except (ValueError, AttributeError, RecursionError):
                continue
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            grade_id = str(json.loads(line).get("grade_id"))
        except (ValueError, AttributeError, RecursionError):
            continue
        if grade_id not in have:
            append_line(existing, line)
            have.add(grade_id)


def _install_memory(ws: Workspace, root: Path) -> None:
    if not root.is_dir():
        return
    mtimes_file = root.parent / "mtimes.json"
    mtimes = json.loads(mtimes_file.read_text()) if mtimes_file.exists() else {}
    dest_root = ws.memories_root("default")
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        target = dest_root / rel
        if target.exists():
            continue
        atomic_write_bytes(target, path.read_bytes(), fsync=False)
        if rel in mtimes:
            os.utime(target, (mtimes[rel], mtimes[rel]))
