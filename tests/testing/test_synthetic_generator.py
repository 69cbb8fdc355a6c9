"""The synthetic session generator: deterministic, valid v1 logs, planted patterns as promised."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from dreamcli.outcomes.store import iter_grades
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import read_events
from dreamcli.sessions.schema import schema_path
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.home import Workspace


def _ws(tmp_path: Path, name: str = "ws") -> Workspace:
    return Workspace(root=tmp_path / name, source="option")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, object]:
    ws = Workspace(root=tmp_path_factory.mktemp("gen") / "ws", source="option")
    manifest = generate(ws, GenConfig(sessions=60, seed=3, size_kb=3))
    return ws, manifest


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = _ws(tmp_path, "a"), _ws(tmp_path, "b"), _ws(tmp_path, "c")
    generate(a, GenConfig(sessions=12, seed=5))
    generate(b, GenConfig(sessions=12, seed=5))
    generate(c, GenConfig(sessions=12, seed=6))
    assert _tree(a.root) == _tree(b.root)
    assert _tree(a.root) != _tree(c.root)


def test_every_line_is_a_valid_v1_event(corpus: tuple[Workspace, object]) -> None:
    ws, manifest = corpus
    validator = Draft202012Validator(json.loads(Path(schema_path()).read_text()))
    files = list(iter_session_files(ws))
    assert len(files) == 60 == manifest.sessions  # type: ignore[attr-defined]
    for path in files:
        events, stats = read_events(path)
        assert stats.skipped == 0
        assert [e["seq"] for e in events] == list(range(len(events)))
        assert events[0]["type"] == "session.start" and events[-1]["type"] == "session.end"
        assert events[0]["source"] == "synthetic"
        assert path.stem == events[0]["session_id"]
        for event in events:
            errors = list(validator.iter_errors(event))
            assert not errors, (path.name, event["seq"], errors[0].message)


def test_planted_patterns_subagents_and_grades(corpus: tuple[Workspace, object]) -> None:
    ws, manifest = corpus
    for key in ("docx-read-fails", "pdf-read-fails", "citation-correction", "criterion-cites-sections",
                "grep-gz-zgrep", "memory-med-list"):
        assert manifest.support(key) >= 3, key  # type: ignore[attr-defined]
    starts = [read_events(p)[0][0] for p in iter_session_files(ws)]
    children = [s for s in starts if s.get("parent_session_id")]
    ids = {s["session_id"] for s in starts}
    assert children and all(c["parent_session_id"] in ids for c in children)
    # the zgrep pattern is planted per episode: several sub-agents of one lead count once
    zgrep_sessions = [p for p in iter_session_files(ws) if b"zgrep" in p.read_bytes()]
    assert len(zgrep_sessions) > manifest.support("grep-gz-zgrep")  # type: ignore[attr-defined]
    grades = list(iter_grades(ws))
    assert len(grades) == manifest.grades > 0  # type: ignore[attr-defined]
    assert all(g["session_id"] in ids for g in grades)
    failing = [g for g in grades if any(c["id"] == "cites-sections" and not c["passed"] for c in g["criteria"])]
    assert len({g["session_id"] for g in failing}) == manifest.support("criterion-cites-sections")  # type: ignore
    notes = list((ws.memory_store("default") / "memories").rglob("*.md"))
    assert notes


def test_size_is_configurable(tmp_path: Path) -> None:
    small = generate(_ws(tmp_path, "s"), GenConfig(sessions=20, seed=1, size_kb=2))
    big = generate(_ws(tmp_path, "b"), GenConfig(sessions=20, seed=1, size_kb=40))
    assert big.bytes > 3 * small.bytes
    assert 20 * 30_000 < big.bytes < 20 * 60_000  # about 40 KB a session, as asked


def test_cli_entry_point(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "dreamcli.testing.synthetic", "--out", str(out), "--sessions", "7",
                           "--seed", "2", "--manifest"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads(proc.stdout)
    assert manifest["sessions"] == 7
    assert len(list(iter_session_files(_ws(tmp_path, "cli")))) == 7
    bad = subprocess.run([sys.executable, "-m", "dreamcli.testing.synthetic", "--out", str(out), "--sessions", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
