"""Re-importing a transcript that grew since it was imported (docs/importers.md, "Importing again"): a
stored session that is `incomplete` (imported while its agent still ran), or whose messages are the first
messages of the new conversion, is replaced whole, as a first import of the grown file writes it, under its
own id, audited, re-read by the next dream, and listed anew. A transcript that changed in any other way
keeps its stored session and is reported as before."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import dreamcli.audit as audit_mod
from dreamcli.cli.app import app
from dreamcli.dream.selection import new_session_files
from dreamcli.dream.watermark import Watermark
from dreamcli.sessions.arrivals import arrivals_size
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import read_events
from dreamcli.testing.transcripts import CodexRollout
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit
from tests.support.transcripts import ClaudeSession, utc


def claude_lines() -> list[str]:
    """A prompt, a tool call, its result, the answer (one line each)."""
    s = ClaudeSession("grow-1", utc(2026, 5, 1, 9), random.Random(3))
    s.user("Fix the failing parser test")
    s.tool_round("Bash", {"command": "pytest -q"}, "1 failed")
    s.assistant([{"type": "text", "text": "Fixed: the parser skipped blank lines."}])
    return s.lines


def codex_lines() -> list[str]:
    r = CodexRollout("0199a213-81c0-7800-8aa1-bbab2a0300aa", utc(2026, 5, 2, 9), random.Random(4))
    r.user("Fix the build")
    r.tool_round(["bash", "-lc", "make"], "ok")
    r.answer("Built.")
    return r.lines


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def stored(ws: Workspace) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in iter_session_files(ws)}


def status(ws: Workspace, sid: str) -> str:
    events, _ = read_events(next(p for p in iter_session_files(ws) if p.stem == sid))
    return str(events[-1]["status"])


def fresh(tmp_path: Path, source: str, src: Path) -> dict[str, bytes]:
    """What a first import of `src` writes, in a workspace of its own."""
    other = Workspace(root=tmp_path / "fresh", source="option")
    import_transcripts(other, source, src, workers=1)
    return stored(other)


# the file's lines up to the call without its result, for each format (its last line is the call)
CASES = [("claude-code", claude_lines, "grow-1.jsonl", 2),
         ("codex", codex_lines, "2026/05/02/rollout-2026-05-02T09-00-00-0199a213.jsonl", 8)]


@pytest.mark.parametrize(("source", "make", "name", "cut"), CASES)
def test_a_grown_incomplete_session_is_replaced_as_a_first_import_writes_it(
        tmp_path: Path, ws: Workspace, source: str, make: Any, name: str, cut: int) -> None:
    lines = make()
    path = write(tmp_path / "src" / name, lines[:cut])
    first = import_transcripts(ws, source, tmp_path / "src", workers=1)
    [sid] = first.session_ids
    assert dict(first.statuses) == {"incomplete": 1}
    write(path, lines)
    again = import_transcripts(ws, source, tmp_path / "src", workers=1)
    assert (again.updated, again.sessions, again.already_imported, again.changed_since_import) == (1, 0, 0, 0)
    assert again.updated_session_ids == [sid] and again.to_json()["updated"] == 1
    assert stored(ws) == fresh(tmp_path, source, tmp_path / "src")  # byte for byte, under the same id
    assert status(ws, sid) == "completed"
    [rec] = [r for r in audit(ws) if r["action"] == "sessions-import" and r.get("updated")]
    assert (rec["updated"], rec["updated_session_ids"], rec["sessions"]) == (1, [sid], 0)
    third = import_transcripts(ws, source, tmp_path / "src", workers=1)  # nothing grew since
    assert (third.updated, third.already_imported, third.changed_since_import) == (0, 1, 0)


def test_a_completed_session_whose_transcript_went_on_is_replaced(tmp_path: Path, ws: Workspace) -> None:
    s = ClaudeSession("grow-2", utc(2026, 5, 3, 9), random.Random(5))
    s.user("Rename the config loader")
    s.assistant([{"type": "text", "text": "Renamed."}])
    path = write(tmp_path / "src" / "grow-2.jsonl", s.lines)
    [sid] = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1).session_ids
    s.user("Now update the docs too")  # the person resumed the session
    s.assistant([{"type": "text", "text": "Docs updated."}])
    write(path, s.lines)
    again = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    assert (again.updated, again.changed_since_import) == (1, 0)
    assert stored(ws) == fresh(tmp_path, "claude-code", tmp_path / "src")
    assert sid in stored(ws)


def test_two_copies_of_a_grown_transcript_replace_the_session_once(tmp_path: Path, ws: Workspace) -> None:
    lines = claude_lines()
    write(tmp_path / "src" / "a" / "grow-1.jsonl", lines[:2])
    [sid] = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1).session_ids
    for copy in ("a", "b"):  # a backup of the project folder holds the same transcript, grown too
        write(tmp_path / "src" / copy / "grow-1.jsonl", lines)
    again = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    assert (again.updated, again.updated_session_ids, again.already_imported) == (1, [sid], 1)
    assert status(ws, sid) == "completed"


def test_a_transcript_changed_otherwise_keeps_its_stored_session(tmp_path: Path, ws: Workspace) -> None:
    lines = claude_lines()
    path = write(tmp_path / "src" / "grow-1.jsonl", lines)
    import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    before = stored(ws)
    edited = [line.replace("Fix the failing parser test", "Fix the failing parser test, and the lexer one")
              for line in lines]  # rewritten, not grown at its end: the stored messages are no prefix
    write(path, [*edited, lines[-1].replace("Fixed", "Done")])
    again = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    assert (again.updated, again.changed_since_import, again.already_imported) == (0, 1, 1)
    assert (again.events, again.lines.lines, dict(again.statuses)) == (0, 0, {})
    assert stored(ws) == before
    assert not list((ws.state_dir / "import-staging").glob("**/*.jsonl"))


def test_an_incomplete_session_whose_transcript_shrank_is_kept(tmp_path: Path, ws: Workspace) -> None:
    lines = claude_lines()
    path = write(tmp_path / "src" / "grow-1.jsonl", lines[:2])
    import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    before = stored(ws)
    write(path, lines[:1])
    again = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    assert (again.updated, again.changed_since_import) == (0, 1)
    assert stored(ws) == before


def test_the_next_dream_reads_a_replaced_session_again(tmp_path: Path, ws: Workspace) -> None:
    lines = claude_lines()
    path = write(tmp_path / "src" / "grow-1.jsonl", lines[:2])
    [sid] = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1).session_ids
    # a dream read it: the watermark is at it, every arrival so far taken into account
    mark = Watermark(playbook="default", last_session_id=sid, arrivals_offset=arrivals_size(ws))
    assert new_session_files(ws, mark) == []
    write(path, lines)
    import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    assert [p.stem for p in new_session_files(ws, mark)] == [sid]  # type: ignore[union-attr]


class Killed(BaseException):  # like SIGKILL: no handler catches it
    pass


def test_a_replacement_killed_before_its_audit_record_is_audited_by_the_next_import(
        tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = claude_lines()
    path = write(tmp_path / "src" / "grow-1.jsonl", lines[:2])
    [sid] = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1).session_ids
    write(path, lines)

    def die(*_a: Any, **_k: Any) -> None:
        raise Killed()

    with monkeypatch.context() as m:
        m.setattr(audit_mod, "append_audit", die)
        with pytest.raises(Killed):
            import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    assert status(ws, sid) == "completed"  # replaced, not audited yet
    import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    [rec] = [r for r in audit(ws) if r.get("updated_session_ids")]
    assert rec["updated_session_ids"] == [sid] and rec["recovered"] is True


def test_cli_says_what_was_updated_and_the_listing_shows_it(tmp_path: Path) -> None:
    home = tmp_path / "proj" / ".dreamcli"
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(tmp_path / "proj")], catch_exceptions=False).exit_code == 0
    s = ClaudeSession("grow-3", utc(2026, 5, 4, 9), random.Random(6))
    s.user("Tidy the imports")
    s.assistant([{"type": "text", "text": "Tidied."}])
    path = write(tmp_path / "src" / "grow-3.jsonl", s.lines)

    def cli(*args: str) -> Any:
        return runner.invoke(app, ["--home", str(home), *args], catch_exceptions=False)

    assert cli("sessions", "import", "claude-code", str(tmp_path / "src")).exit_code == 0
    [row] = json.loads(cli("sessions", "list", "--json").stdout)["sessions"]
    assert row["turns"] == 1
    s.user("And sort them")
    s.assistant([{"type": "text", "text": "Sorted."}])
    write(path, s.lines)
    r = cli("sessions", "import", "claude-code", str(tmp_path / "src"), "--json")
    data = json.loads(r.stdout)
    assert (data["updated"], data["updated_session_ids"], data["sessions"]) == (1, [row["session_id"]], 0)
    [again] = json.loads(cli("sessions", "list", "--json").stdout)["sessions"]
    assert (again["session_id"], again["turns"]) == (row["session_id"], 2)
    s.user("One more")
    s.assistant([{"type": "text", "text": "Done."}])
    write(path, s.lines)
    r = cli("sessions", "import", "claude-code", str(tmp_path / "src"))
    assert "1 session updated: its transcript grew since it was imported" in " ".join(r.stdout.split())
    assert "not re-imported" not in r.stdout
    shutil.rmtree(tmp_path / "src")


def _cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False)


@pytest.mark.parametrize(("source", "make", "name", "cut"), CASES)
def test_dry_run_reports_a_grown_transcript_as_the_import_then_does(
        tmp_path: Path, ws: Workspace, source: str, make: Any, name: str, cut: int) -> None:
    lines = make()
    path = write(tmp_path / "src" / name, lines[:cut])
    [sid] = import_transcripts(ws, source, tmp_path / "src", workers=1).session_ids
    write(path, lines)
    before = stored(ws)
    dry = _cli(ws.root, "sessions", "import", source, str(tmp_path / "src"), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    [file] = report["reports"]
    assert (file["already_imported"], file["updated"], file["changed_since_import"]) == (False, 1, False)
    assert file["statuses"] == {"completed": 1}
    assert (report["updated"], report["updated_session_ids"], report["already_imported"]) == (1, [sid], 0)
    assert stored(ws) == before  # nothing written
    assert not list((ws.state_dir / "import-staging").glob("**/*"))
    human = _cli(ws.root, "sessions", "import", source, str(tmp_path / "src"), "--dry-run")
    assert "updated" in human.stdout and "imported before" not in human.stdout
    assert "1 session would be updated" in " ".join(human.stderr.split())
    real = json.loads(_cli(ws.root, "sessions", "import", source, str(tmp_path / "src"), "--json").stdout)
    assert (real["updated"], real["updated_session_ids"]) == (report["updated"], report["updated_session_ids"])
    again = json.loads(_cli(ws.root, "sessions", "import", source, str(tmp_path / "src"), "--dry-run",
                            "--json").stdout)
    assert (again["updated"], again["already_imported"], again["reports"][0]["already_imported"]) == (0, 1, True)


def test_dry_run_reports_a_transcript_changed_otherwise_as_kept(tmp_path: Path, ws: Workspace) -> None:
    lines = claude_lines()
    path = write(tmp_path / "src" / "grow-1.jsonl", lines)
    import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    edited = [line.replace("Fix the failing parser test", "Fix the failing parser test, and the lexer one")
              for line in lines]
    write(path, [*edited, lines[-1].replace("Fixed", "Done")])  # grew, but the stored messages are no prefix
    dry = json.loads(_cli(ws.root, "sessions", "import", "claude-code", str(tmp_path / "src"), "--dry-run",
                          "--json").stdout)
    [file] = dry["reports"]
    assert (file["already_imported"], file["updated"], file["changed_since_import"]) == (True, 0, True)
    assert (dry["updated"], dry["changed_since_import"], dry["already_imported"]) == (0, 1, 1)
    assert file["lines"]["read"] == len(lines) + 1  # what the file holds is still reported
    real = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    assert (real.updated, real.changed_since_import) == (0, 1)
