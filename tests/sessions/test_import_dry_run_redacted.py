"""`sessions import --dry-run` shows the paths it read redacted, as the import records them: a Claude Code
project folder is named after the directory it ran in, and that name can hold a token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dreamcli.cli.app import app
from tests.support.transcripts import claude_transcript, utc

GH_TOKEN = "ghp_" + "R4nd0mT0k3nV4lu3Xy12Ab34Cd56Ef78Gh90"


def invoke(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False)


def test_dry_run_paths_are_redacted_as_the_import_records_them(tmp_path: Path) -> None:
    project = tmp_path / "projects" / f"-home-u-{GH_TOKEN}"
    claude_transcript(project / "s1.jsonl", session_id="11111111-2222-3333-4444-555555555555",
                      start=utc(2026, 11, 1, 10))
    (project / "notes.jsonl").write_bytes(b"\x89 not a transcript\n")  # skipped: its path is listed too
    root = tmp_path / "projects"
    dry = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(root), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert GH_TOKEN not in dry.stdout and GH_TOKEN not in dry.stderr
    report = json.loads(dry.stdout)
    [file] = report["reports"]
    assert file["path"] == str(root / "-home-u-[REDACTED:github]" / "s1.jsonl")
    assert [s["file"] for s in report["skipped_files"]] == [str(root / "-home-u-[REDACTED:github]" / "notes.jsonl")]
    human = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(root), "--dry-run")
    assert human.exit_code == 0 and GH_TOKEN not in human.stdout + human.stderr

    assert invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(root), "--json").exit_code == 0
    [log] = (tmp_path / "ws" / "sessions").rglob("*.jsonl")
    start = json.loads(log.read_text().splitlines()[0])
    assert start["import"]["path"] == file["path"]  # the same redaction as the import's own record


def test_the_import_reports_skipped_files_redacted_as_it_records_paths(tmp_path: Path) -> None:
    project = tmp_path / "projects" / f"-proj-{GH_TOKEN}"
    claude_transcript(project / "s1.jsonl", session_id="11111111-2222-3333-4444-555555555555",
                      start=utc(2026, 11, 1, 10))
    (project / "junk.jsonl").write_bytes(b"\x89 not a transcript\n")
    root = tmp_path / "projects"
    junk = str(root / "-proj-[REDACTED:github]" / "junk.jsonl")
    done = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(root), "--json")
    assert done.exit_code == 0, done.output
    assert GH_TOKEN not in done.stdout and GH_TOKEN not in done.stderr
    assert [s["file"] for s in json.loads(done.stdout)["skipped_files"]] == [junk]
    assert f"warning: skipped {junk}:1: not a JSONL file (line is not JSON)" in done.stderr.splitlines()
    [log] = (tmp_path / "ws" / "sessions").rglob("*.jsonl")
    recorded = json.loads(log.read_text().splitlines()[0])["import"]["path"]
    assert recorded == str(root / "-proj-[REDACTED:github]" / "s1.jsonl")  # as the session records its own path
    again = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(root))  # without --json: stderr too
    assert again.exit_code == 0 and GH_TOKEN not in again.stdout + again.stderr
