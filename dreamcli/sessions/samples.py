"""The bundled sample sessions (dreamcli/data/sample_sessions/), so `dreamcli init --with-samples`
followed by `dreamcli dream --offline` shows what dreaming finds, with no API key.

The samples are made by the synthetic generator (`SAMPLE_CONFIG`) and committed:

    sample_sessions/sessions/<id>.jsonl    the session logs (schema v1)
    sample_sessions/grades.jsonl           their grade records
    sample_sessions/memory/<path>          the memory notes the agents wrote (mtimes in mtimes.json)

Regenerate with `python -m dreamcli.sessions.samples --rebuild`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from importlib.resources import files
from pathlib import Path

from dreamcli.outcomes.store import grades_path
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.fsutil import append_line, atomic_write_bytes, ensure_dir
from dreamcli.workspace.home import Workspace

SAMPLE_SESSIONS = 40
SAMPLE_SEED = 5
SAMPLE_SIZE_KB = 2.5


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
    existing = grades_path(ws)
    if existing.exists():
        for raw in existing.read_bytes().splitlines():
            try:
                have.add(str(json.loads(raw).get("grade_id")))
            except (ValueError, AttributeError):
                continue
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            grade_id = str(json.loads(line).get("grade_id"))
        except (ValueError, AttributeError):
            continue
        if grade_id not in have:
            append_line(existing, line)
            have.add(grade_id)


def _install_memory(ws: Workspace, root: Path) -> None:
    if not root.is_dir():
        return
    mtimes_file = root.parent / "mtimes.json"
    mtimes = json.loads(mtimes_file.read_text()) if mtimes_file.exists() else {}
    dest_root = ws.memory_store("default") / "memories"
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


def rebuild(dest: Path | None = None) -> int:
    """Regenerate the bundled samples from the synthetic generator; returns the number of sessions."""
    from dreamcli.sessions.paths import iter_session_files
    from dreamcli.sessions.synthetic import GenConfig, generate

    dest = dest or samples_dir()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(root=Path(tmp) / "ws", source="option")
        generate(ws, GenConfig(sessions=SAMPLE_SESSIONS, seed=SAMPLE_SEED, size_kb=SAMPLE_SIZE_KB))
        if dest.exists():
            shutil.rmtree(dest)
        ensure_dir(dest / "sessions")
        n = 0
        for path in iter_session_files(ws):
            shutil.copyfile(path, dest / "sessions" / path.name)
            n += 1
        if grades_path(ws).exists():
            shutil.copyfile(grades_path(ws), dest / "grades.jsonl")
        mem = ws.memory_store("default") / "memories"
        mtimes: dict[str, float] = {}
        for path in sorted(mem.rglob("*")) if mem.is_dir() else []:
            if path.is_file():
                rel = path.relative_to(mem).as_posix()
                ensure_dir((dest / "memory" / rel).parent)
                shutil.copyfile(path, dest / "memory" / rel)
                mtimes[rel] = path.stat().st_mtime
        (dest / "mtimes.json").write_text(json.dumps(mtimes, indent=1, sort_keys=True) + "\n")
    return n


if __name__ == "__main__":
    if sys.argv[1:] != ["--rebuild"]:
        print("usage: python -m dreamcli.sessions.samples --rebuild", file=sys.stderr)
        raise SystemExit(2)
    print(f"wrote {rebuild()} sample sessions to {samples_dir()}", file=sys.stderr)
