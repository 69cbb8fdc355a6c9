"""Regenerating the bundled sample sessions (dreamcli/data/sample_sessions/) from the synthetic
generator: `python -m dreamcli.testing.sample_sessions --rebuild`, then commit the result."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from dreamcli.sessions.samples import SAMPLE_SEED, SAMPLE_SESSIONS, SAMPLE_SIZE_KB, samples_dir
from dreamcli.workspace.fsutil import ensure_dir
from dreamcli.workspace.home import Workspace


def rebuild(dest: Path | None = None) -> int:
    """Regenerate the bundled samples from the synthetic generator; returns the number of sessions."""
    from dreamcli.sessions.paths import iter_session_files
    from dreamcli.testing.synthetic import GenConfig, generate

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
