"""`sessions import` does not follow a symlinked transcript out of the folder it was given (tester D,
defect 7): a `*.jsonl` link at the top of the folder or in `subagents/` could make the import read any
JSONL the user can read (another project's transcript). Such a link is skipped and reported as other
files that are not transcripts are; a file named directly is still taken, at the file it points to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.importers.common import discover_files
from dreamcli.testing.transcripts import claude_subagent_file, claude_transcript, utc

REASON = "a symlink, not followed (import the file it points to by its own path)"


def invoke(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False)


def imported_text(home: Path) -> str:
    return "".join(p.read_text() for p in sorted((home / "sessions").rglob("*.jsonl")))


def test_symlinked_transcripts_in_the_folder_and_in_subagents_are_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    claude_transcript(outside / "private.jsonl", session_id="private", start=utc(2026, 5, 1, 8))
    claude_subagent_file(outside, "other", "o1", utc(2026, 5, 1, 8, 5))
    private_sub = outside / "other" / "subagents" / "agent-o1.jsonl"
    proj = tmp_path / "in" / "-p"
    claude_transcript(proj / "lead.jsonl", session_id="lead", start=utc(2026, 5, 1, 9))
    (proj / "innocent.jsonl").symlink_to(outside / "private.jsonl")
    (proj / "lead" / "subagents").mkdir(parents=True)
    (proj / "lead" / "subagents" / "agent-evil.jsonl").symlink_to(private_sub)

    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(tmp_path / "in"), "--json")

    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["sessions"] == 1 and data["children"] == 0
    links = [proj / "innocent.jsonl", proj / "lead" / "subagents" / "agent-evil.jsonl"]
    assert sorted(data["skipped_files"], key=lambda s: s["file"]) == [
        {"file": str(p), "line": None, "reason": REASON} for p in sorted(links, key=str)]
    assert r.stderr.count(f": {REASON}") == 2
    text = imported_text(tmp_path / "ws")
    assert "lead" in text and '"private"' not in text and "o1" not in text
    assert "Find where the retry timeout" not in text  # the linked sub-agent's prompt


def test_a_symlinked_file_named_directly_is_read_at_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real" / "t.jsonl"
    claude_transcript(real, session_id="mine", start=utc(2026, 5, 1, 9))
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    assert discover_files(link) == [real.resolve()]
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(link), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["sessions"] == 1, r.output


def test_a_transcript_swapped_for_a_symlink_after_planning_is_not_followed(tmp_path: Path, monkeypatch) -> None:
    """The plan reads each file's first line (and refuses a symlink there); a file swapped for a symlink
    after that is opened with O_NOFOLLOW when converted, so the swap reads nothing outside the folder."""
    from dreamcli.sessions.importers import plan

    outside = tmp_path / "outside"
    claude_transcript(outside / "private.jsonl", session_id="private", start=utc(2026, 5, 1, 8))
    proj = tmp_path / "in" / "-p"
    victim = proj / "swapped.jsonl"
    claude_transcript(victim, session_id="swapped", start=utc(2026, 5, 1, 9))
    real = plan.first_object

    def then_swap(path: Path) -> Any:
        first = real(path)
        if path.name == victim.name:
            path.unlink()
            path.symlink_to(outside / "private.jsonl")
        return first

    monkeypatch.setattr(plan, "first_object", then_swap)
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(tmp_path / "in"), "--json")
    assert victim.is_symlink()  # the swap happened
    assert "_privat0" not in imported_text(tmp_path / "ws"), r.output  # the private transcript's ids
    assert r.exit_code not in (0, 1) and f"{victim}: cannot read" in r.output  # one line naming the file
