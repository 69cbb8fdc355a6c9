"""`sessions import` of a directory (its own name UTF-8) holding a transcript whose file or folder name is not
UTF-8: the session index records the path as UTF-8 text, so that file is skipped with one warning naming it
(escaped, `\\xff`) and listed under `skipped_files`; the other transcripts are imported. Never an internal error
that imports nothing (a review of a69c7cb)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from tests.support.transcripts import claude_transcript, codex_rollout, utc

pytestmark = pytest.mark.usefixtures("no_model")

REASON = "file name is not UTF-8 (dreamcli records the path as UTF-8 text); rename it to import it"


def invoke(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False)


def non_utf8(parent: Path, name: bytes) -> Path:
    return Path(os.fsdecode(os.path.join(os.fsencode(parent), name)))


def sessions(home: Path) -> list[Path]:
    return sorted((home / "sessions").rglob("*.jsonl")) if (home / "sessions").exists() else []


@pytest.fixture
def cc(tmp_path: Path) -> Path:
    src = tmp_path / "projects"
    (src / "p1").mkdir(parents=True)
    claude_transcript(src / "p1" / "good.jsonl", session_id="11111111-2222-3333-4444-000000000001",
                      start=utc(2026, 1, 1, 9))
    claude_transcript(non_utf8(src / "p1", b"s\xff.jsonl"), session_id="11111111-2222-3333-4444-000000000002",
                      start=utc(2026, 1, 2, 9))
    return src


def test_a_claude_code_transcript_named_not_utf8_is_skipped_and_the_others_imported(tmp_path: Path,
                                                                                    cc: Path) -> None:
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(cc), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    shown = f"{cc}/p1/s\\xff.jsonl"
    assert (data["files"], data["transcripts"], data["sessions"]) == (2, 1, 1)
    assert data["skipped_files"] == [{"file": shown, "line": None, "reason": REASON}]
    assert r.stderr == f"warning: skipped {shown}: {REASON}\n"
    assert len(sessions(tmp_path / "ws")) == 1
    human = invoke(tmp_path / "ws2", "sessions", "import", "claude-code", str(cc))
    assert human.exit_code == 0 and "1 imported" in human.stdout, human.output
    assert "\\xff" in human.stderr and "\udcff" not in human.stderr


def test_dry_run_skips_it_the_same_way(tmp_path: Path, cc: Path) -> None:
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(cc), "--dry-run", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["skipped_files"] == [{"file": f"{cc}/p1/s\\xff.jsonl", "line": None, "reason": REASON}]
    assert sessions(tmp_path / "ws") == []


def test_a_codex_rollout_in_a_folder_named_not_utf8_is_skipped(tmp_path: Path) -> None:
    src = tmp_path / "codex"
    codex_rollout(src, thread_id="t-1", start=utc(2026, 5, 1, 9))
    moved, _ = codex_rollout(tmp_path / "other", thread_id="t-2", start=utc(2026, 5, 1, 10))
    folder = non_utf8(src, b"d\xfe")
    folder.mkdir()
    os.rename(moved, folder / moved.name)
    r = invoke(tmp_path / "ws", "sessions", "import", "codex", str(src), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (data["files"], data["sessions"]) == (2, 1)
    assert data["skipped_files"] == [{"file": f"{src}/d\\xfe/{moved.name}", "line": None, "reason": REASON}]
    assert r.stderr.count("\n") == 1 and "warning: skipped" in r.stderr and "\\xfe" in r.stderr


def test_only_such_transcripts_is_refused_in_one_line(tmp_path: Path) -> None:
    src = tmp_path / "only"
    src.mkdir()
    claude_transcript(non_utf8(src, b"s\xff.jsonl"), session_id="11111111-2222-3333-4444-000000000003",
                      start=utc(2026, 1, 3, 9))
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(src))
    assert r.exit_code == 2, r.output
    assert r.stderr == f"error: {src}/s\\xff.jsonl: {REASON}\n"
    assert sessions(tmp_path / "ws") == []


def test_only_a_transcript_is_skipped_for_its_name_an_empty_or_foreign_file_as_any_other(tmp_path: Path,
                                                                                        cc: Path) -> None:
    non_utf8(cc / "p1", b"e\xfe.jsonl").write_text("")  # empty: counted as empty, as a UTF-8 name would be
    non_utf8(cc / "p1", b"junk\xfd.jsonl").write_text("not json\n")  # no transcript: renaming would not help
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(cc), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (data["files"], data["transcripts"], data["empty"], data["sessions"]) == (4, 1, 1, 1)
    reasons = {s["file"].rsplit("/", 1)[-1]: s["reason"] for s in data["skipped_files"]}
    assert reasons.keys() == {"s\\xff.jsonl", "junk\\xfd.jsonl"}
    assert reasons["s\\xff.jsonl"] == REASON
    assert "rename" not in reasons["junk\\xfd.jsonl"]


@pytest.mark.parametrize("body", ["\n\n", '{"type": "user", "message"'], ids=["blank-lines", "cut-off"])
def test_a_file_with_no_line_to_import_counts_the_same_under_either_name(tmp_path: Path, cc: Path,
                                                                       body: str) -> None:
    """A blank-only file or one cut off mid-line has nothing to import: renaming would not help, so it is
    counted as under a UTF-8 name, not told to be renamed (a review of 6310388)."""
    counts = []
    for n, name in enumerate((b"x.jsonl", b"x\xfe.jsonl")):
        src = tmp_path / f"src{n}"
        (src / "p1").mkdir(parents=True)
        (src / "p1" / "good.jsonl").write_bytes((cc / "p1" / "good.jsonl").read_bytes())
        non_utf8(src / "p1", name).write_text(body)
        r = invoke(tmp_path / f"ws{n}", "sessions", "import", "claude-code", str(src), "--json")
        assert r.exit_code == 0, r.output
        data = json.loads(r.stdout)
        assert data["skipped_files"] == [] and r.stderr == ""
        counts.append({k: data[k] for k in ("files", "transcripts", "empty", "sessions")})
    assert counts[0] == counts[1]
