"""`sessions import` on a directory that holds transcripts and a few files that are not (random bytes, an
unreadable file, a file of the other format): the transcripts are imported, the others skipped with a
warning and listed under `skipped_files`, `--dry-run` too. A directory with no transcript of the format
at all, or a named file that is not one, is still refused up front (exit 2, one line, nothing written)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import EXIT_USAGE
from dreamcli.sessions.importers import common, lines
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace
from tests.support.transcripts import claude_subagent_file, claude_transcript, codex_rollout, utc

GOOD_LINE = json.dumps({"type": "user", "message": {"role": "user", "content": "hi"}, "sessionId": "abd",
                        "timestamp": "2026-11-01T00:00:00Z", "uuid": "u1"})


def invoke(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False)


def session_files(home: Path) -> list[Path]:
    return sorted((home / "sessions").rglob("*.jsonl")) if (home / "sessions").exists() else []


def random_bytes(path: Path, seed: int = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    path.write_bytes(b"\x89" + bytes(rng.randrange(256) for _ in range(3000)) + b"\n")


def unreadable(monkeypatch: pytest.MonkeyPatch, *paths: Path) -> None:
    """Opening these files fails with EACCES, as for a chmod 000 file (the tests may run as root)."""
    denied = {str(p) for p in paths}

    real = common.open_nofollow

    def fake_open(file: Any, *args: Any) -> Any:
        if str(file) in denied:
            raise PermissionError(13, "Permission denied", str(file))
        return real(file, *args)

    monkeypatch.setattr(common, "open_nofollow", fake_open)  # the plan's first line
    monkeypatch.setattr(lines, "open_nofollow", fake_open)  # the converter's read


@pytest.fixture
def cc(tmp_path: Path) -> Path:
    """The report's directory: a file of random bytes beside a good transcript."""
    src = tmp_path / "cc"
    random_bytes(src / "bin.jsonl")
    (src / "good.jsonl").write_text(GOOD_LINE + "\n")
    return src


def test_a_file_of_random_bytes_is_skipped_and_the_transcript_imported(tmp_path: Path, cc: Path) -> None:
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(cc), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (data["files"], data["transcripts"], data["sessions"]) == (2, 1, 1)
    assert data["skipped_files"] == [{"file": str(cc / "bin.jsonl"), "line": 1,
                                "reason": "not a JSONL file (line is not JSON)"}]
    assert r.stderr == f"warning: skipped {cc / 'bin.jsonl'}:1: not a JSONL file (line is not JSON)\n"
    assert len(session_files(tmp_path / "ws")) == 1
    human = invoke(tmp_path / "ws2", "sessions", "import", "claude-code", str(cc))
    assert human.exit_code == 0 and "1 imported" in human.stdout and "skipped" in human.stderr


def test_dry_run_reports_the_skipped_file_and_the_transcript(tmp_path: Path, cc: Path) -> None:
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(cc), "--dry-run", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (data["files"], data["transcripts"], data["sessions"]) == (2, 1, 1)
    assert [s["file"] for s in data["skipped_files"]] == [str(cc / "bin.jsonl")]
    assert "warning: skipped" in r.stderr and session_files(tmp_path / "ws") == []
    human = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(cc), "--dry-run")
    assert human.exit_code == 0 and "good.jsonl" in human.stdout and "bin.jsonl:1" in human.stderr


def test_an_unreadable_file_is_skipped(tmp_path: Path, cc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (cc / "bin.jsonl").unlink()
    (cc / "locked.jsonl").write_text(GOOD_LINE.replace("abd", "zzz") + "\n")
    unreadable(monkeypatch, cc / "locked.jsonl")
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(cc), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["sessions"] == 1
    assert data["skipped_files"] == [{"file": str(cc / "locked.jsonl"), "line": None,
                                "reason": "cannot read: Permission denied"}]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file")
def test_a_chmod_000_file_is_skipped(tmp_path: Path, cc: Path) -> None:
    (cc / "bin.jsonl").chmod(0)
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(cc), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["skipped_files"][0]["reason"] == "cannot read: Permission denied"


def test_a_subagent_whose_lead_cannot_be_read_is_still_imported(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    proj = tmp_path / "projects" / "-p"
    claude_transcript(proj / "lead.jsonl", session_id="lead", start=utc(2026, 5, 1, 9))
    claude_subagent_file(proj, "lead", "a1", utc(2026, 5, 1, 9, 5))
    unreadable(monkeypatch, proj / "lead.jsonl")
    ws = Workspace(root=tmp_path / "ws", source="option")
    s = import_transcripts(ws, "claude-code", tmp_path / "projects", workers=1)
    assert (s.sessions, [d["file"] for d in s.skipped_files]) == (1, [str(proj / "lead.jsonl")])


def test_codex_skips_garbage_and_claude_code_files(tmp_path: Path) -> None:
    src = tmp_path / "sessions"
    codex_rollout(src, thread_id="t-1", start=utc(2026, 5, 1, 9))
    random_bytes(src / "junk.jsonl")
    (src / "cc.jsonl").write_text(GOOD_LINE + "\n")
    r = invoke(tmp_path / "ws", "sessions", "import", "codex", str(src), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["sessions"] == 1
    assert {Path(s["file"]).name: s["reason"].split(" (")[0] for s in data["skipped_files"]} == {
        "cc.jsonl": "not a Codex rollout", "junk.jsonl": "not a JSONL file"}
    assert r.stderr.count("warning: skipped") == 2


def test_many_skipped_files_print_ten_warnings_and_a_count(tmp_path: Path, cc: Path) -> None:
    for i in range(14):
        random_bytes(cc / f"junk{i:02d}.jsonl", seed=i)
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(cc), "--json")
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["skipped_files"]) == 15
    lines = r.stderr.splitlines()
    assert len(lines) == 11 and lines[-1].startswith("warning: 5 more files skipped")


# ---------------------------------------------------------------- still refused up front


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_directory_of_the_other_format_is_refused(tmp_path: Path, dry_run: bool) -> None:
    src = tmp_path / "codex"
    codex_rollout(src, thread_id="t-1", start=utc(2026, 5, 1, 9))
    codex_rollout(src, thread_id="t-2", start=utc(2026, 5, 1, 10))
    random_bytes(src / "junk.jsonl")
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(src), *(["--dry-run"] if dry_run else []))
    assert r.exit_code == EXIT_USAGE, r.output
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")
    assert "none of the 3 files found is a claude-code transcript" in r.stderr
    assert session_files(tmp_path / "ws") == [] and r.stdout == ""


def test_a_named_file_that_is_not_a_transcript_is_refused(tmp_path: Path, cc: Path) -> None:
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(cc / "bin.jsonl"))
    assert r.exit_code == EXIT_USAGE
    assert r.stderr == f"error: {cc / 'bin.jsonl'}:1: not a JSONL file (line is not JSON)\n"


def test_skipped_files_give_the_same_bytes_with_one_or_two_workers(tmp_path: Path) -> None:
    src = tmp_path / "projects"
    for i in range(4):
        claude_transcript(src / f"-p{i % 2}" / f"s{i}.jsonl", session_id=f"s{i}", start=utc(2026, 5, 1 + i, 9),
                          seed=i)
        random_bytes(src / f"-p{i % 2}" / f"junk{i}.jsonl", seed=i)
    out = []
    for workers in (1, 2):
        ws = Workspace(root=tmp_path / f"ws{workers}", source="option")
        s = import_transcripts(ws, "claude-code", src, workers=workers).to_json()
        files = {p.relative_to(ws.sessions_dir): p.read_bytes() for p in iter_session_files(ws)}
        out.append((s["sessions"], s["skipped_files"], files))
    assert out[0] == out[1] and out[0][0] == 4 and len(out[0][1]) == 4
