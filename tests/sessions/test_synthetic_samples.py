"""The bundled sample sessions: small, in sync with the generator, installed idempotently."""

from __future__ import annotations

import os
from pathlib import Path

from dreamcli.outcomes.store import grades_path, iter_grades
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.samples import SAMPLE_SESSIONS, install_samples, samples_dir
from dreamcli.testing.sample_sessions import rebuild
from dreamcli.workspace.home import Workspace


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_bundled_samples_are_small_and_match_the_generator(tmp_path: Path) -> None:
    bundled = _tree(samples_dir())
    assert sum(1 for k in bundled if k.startswith("sessions/")) == SAMPLE_SESSIONS
    assert sum(len(v) for v in bundled.values()) < 600_000
    rebuild(tmp_path / "fresh")
    assert _tree(tmp_path / "fresh") == bundled, "run `python -m dreamcli.testing.sample_sessions --rebuild` and commit"


def test_install_is_idempotent_and_keeps_what_is_there(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    assert install_samples(ws) == SAMPLE_SESSIONS
    files = list(iter_session_files(ws))
    assert len(files) == SAMPLE_SESSIONS
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    grades = list(iter_grades(ws))
    notes = sorted((ws.memory_store("default") / "memories").rglob("*.md"))
    assert grades and notes
    edited = notes[0]
    edited.write_text("my own note\n")
    assert install_samples(ws) == 0
    assert len(list(iter_session_files(ws))) == SAMPLE_SESSIONS
    assert len(list(iter_grades(ws))) == len(grades)
    assert edited.read_text() == "my own note\n"
    assert grades_path(ws).read_bytes().count(b"\n") == len(grades)


def test_memory_notes_keep_their_age(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    install_samples(ws)
    mtimes = [os.stat(p).st_mtime for p in (ws.memory_store("default") / "memories").rglob("*.md")]
    assert max(mtimes) - min(mtimes) > 7 * 86400  # a stale note stays stale after install
