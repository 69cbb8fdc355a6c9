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
