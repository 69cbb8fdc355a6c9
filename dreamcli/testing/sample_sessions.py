"""Regenerating the bundled sample sessions (dreamcli/data/sample_sessions/) from their stories
(`dreamcli.testing.sample_stories`): `python -m dreamcli.testing.sample_sessions --rebuild`, then
commit the result."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from dreamcli.sessions.samples import SAMPLE_SEED, SAMPLE_SESSIONS, SAMPLE_SIZE_KB, samples_dir
from dreamcli.workspace.fsutil import ensure_dir
from dreamcli.workspace.home import Workspace


def build(ws: Workspace) -> int:
    """Write the sample stories' sessions, grades and memory notes into `ws`; returns the sessions."""
    import os

    from dreamcli.testing.sample_stories import PLAN, STORIES, StoryGenerator, stale_ci_note
    from dreamcli.testing.synthetic import GenConfig
    from dreamcli.workspace.fsutil import atomic_write_text

    ws.ensure_layout()
    gen = StoryGenerator(ws, GenConfig(sessions=SAMPLE_SESSIONS, seed=SAMPLE_SEED, size_kb=SAMPLE_SIZE_KB))
    schedule = [name for name, n in PLAN.items() for _ in range(n)]
    gen.rng.shuffle(schedule)
    stale_ci_note(gen)
    index = 0
    for name in schedule:
        index += STORIES[name](gen, index, SAMPLE_SESSIONS - index)
    root = ws.memories_root(gen.cfg.memory_store)
    for path, (text, t_ms) in sorted(gen.memory_notes.items()):
        target = root / path.removeprefix("/memories/")
        atomic_write_text(target, text, fsync=False)
        os.utime(target, (t_ms / 1000, t_ms / 1000))
    return index


def rebuild(dest: Path | None = None) -> int:
    """Regenerate the bundled samples from their stories; returns the number of sessions."""
    from dreamcli.sessions.paths import iter_session_files

    dest = dest or samples_dir()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(root=Path(tmp) / "ws", source="option")
        build(ws)
        if dest.exists():
            shutil.rmtree(dest)
        ensure_dir(dest / "sessions")
        n = 0
        for path in iter_session_files(ws):
            shutil.copyfile(path, dest / "sessions" / path.name)
            n += 1
        if ws.grades_file.exists():
            shutil.copyfile(ws.grades_file, dest / "grades.jsonl")
        mem = ws.memories_root("default")
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
        print("usage: python -m dreamcli.testing.sample_sessions --rebuild", file=sys.stderr)
        raise SystemExit(2)
    print(f"wrote {rebuild()} sample sessions to {samples_dir()}", file=sys.stderr)
