"""`dreamcli sessions import`: CLI output, and bad input refused with exit 2 and nothing imported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import EXIT_USAGE
from dreamcli.sessions.importers import runner
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.workspace.home import Workspace
from tests.support.paths import CLAUDE_CODE_SAMPLES
from tests.support.transcripts import claude_transcript, codex_rollout, utc

SAMPLES = CLAUDE_CODE_SAMPLES


def invoke(home: Path, *args: str) -> object:
    return CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False)


def session_files(home: Path) -> list[Path]:
    return sorted((home / "sessions").rglob("*.jsonl")) if (home / "sessions").exists() else []


def test_cli_imports_claude_code_and_prints_json_summary(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    r = invoke(home, "sessions", "import", "claude-code", str(SAMPLES), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["version"] == 1 and data["source"] == "claude-code"
    assert (data["sessions"], data["transcripts"], data["already_imported"]) == (4, 4, 0)
    assert data["lines"]["skipped"] == 6 and data["lines"]["unknown"] == {"(no type)": 1}
    assert data["totals"]["tool_errors"] == 1 and len(data["session_ids"]) == 4
    listed = json.loads(invoke(home, "sessions", "list", "--json").stdout)["sessions"]
    assert {s["source"] for s in listed} == {"claude-code"} and len(listed) == 4
    again = json.loads(invoke(home, "sessions", "import", "claude-code", str(SAMPLES), "--json").stdout)
    assert (again["sessions"], again["already_imported"]) == (0, 4)
    audit = [json.loads(line) for line in (home / "audit.jsonl").read_text().splitlines()]
    assert [a["action"] for a in audit] == ["sessions-import"] and audit[0]["sessions"] == 4


def test_cli_human_summary_and_codex_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    codex_home = tmp_path / "codex"
    codex_rollout(codex_home / "sessions", thread_id="t-1", start=utc(2026, 5, 1, 9))
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    r = invoke(tmp_path / "ws", "sessions", "import", "codex")
    assert r.exit_code == 0, r.output
    assert "1 imported" in r.stdout and "codex" in r.stdout and "3 calls, 1 error" in r.stdout.splitlines()[6]
    assert len(session_files(tmp_path / "ws")) == 1


def test_claude_code_default_path_is_in_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    claude_transcript(tmp_path / "user" / ".claude" / "projects" / "-p" / "s.jsonl", session_id="s",
                      start=utc(2026, 5, 2, 9))
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["path"] == str(tmp_path / "user" / ".claude" / "projects")


# ---------------------------------------------------------------- bad input


def test_missing_directory_is_exit_2(tmp_path: Path) -> None:
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(tmp_path / "nope"))
    assert r.exit_code == EXIT_USAGE
    assert "nope" in r.stderr and "does not exist" in r.stderr and "Traceback" not in r.output


@pytest.mark.parametrize("content", [b"just some notes\nnot json\n", b"\x89PNG\r\n\x1a\n\x00\x00binary",
                                     b"[1, 2, 3]\n", b'{"display": "ls", "timestamp": 1700000000}\n'])
def test_a_file_that_is_not_a_transcript_is_skipped_the_others_imported(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "projects"
    claude_transcript(src / "a" / "good.jsonl", session_id="good", start=utc(2026, 5, 3, 9))
    bad = src / "b" / "zz-bad.jsonl"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(content)
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(src))
    assert r.exit_code == 0, r.output
    assert "zz-bad.jsonl" in r.stderr and r.stderr.startswith("warning: skipped ")
    assert len(session_files(tmp_path / "ws")) == 1  # the good transcript is imported
    (src / "a" / "good.jsonl").unlink()  # no transcript left: the whole import is refused
    r = invoke(tmp_path / "ws2", "sessions", "import", "claude-code", str(src))
    assert r.exit_code == EXIT_USAGE, r.output
    assert "zz-bad.jsonl" in r.stderr and r.stderr.count("\n") == 1
    assert session_files(tmp_path / "ws2") == []


def test_a_transcript_of_the_other_format_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "codex"
    codex_rollout(src, thread_id="t-2", start=utc(2026, 5, 4, 9))
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(src))
    assert r.exit_code == EXIT_USAGE and "not a Claude Code transcript" in r.stderr
    r = invoke(tmp_path / "ws", "sessions", "import", "codex", str(SAMPLES))
    assert r.exit_code == EXIT_USAGE and "not a Codex rollout" in r.stderr
    assert session_files(tmp_path / "ws") == []


def test_empty_files_and_summary_only_files_are_counted_not_refused(tmp_path: Path) -> None:
    src = tmp_path / "p"
    src.mkdir()
    (src / "empty.jsonl").write_bytes(b"")
    (src / "summaries.jsonl").write_text(json.dumps({"type": "summary", "summary": "x", "leafUuid": "u"}) + "\n")
    shutil.copy(SAMPLES / "session_b.jsonl", src)
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(src), "--json")
    data = json.loads(r.stdout)
    assert (data["files"], data["transcripts"], data["empty"], data["without_messages"], data["sessions"]) == (
        3, 1, 1, 1, 1)
    assert data["lines"]["ignored"]["summary"] >= 1  # the summary-only file's line is counted, not lost


def test_failure_mid_import_leaves_only_whole_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "p"
    for i in range(3):
        claude_transcript(src / f"s{i}.jsonl", session_id=f"s{i}", start=utc(2026, 5, 5, 9, i), seed=i)
    ws = Workspace(root=tmp_path / "ws", source="option")
    real = runner.FORMATS["claude-code"].convert
    calls = {"n": 0}

    def flaky(t, ctx, result):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            real(t, ctx, result)  # wrote a whole staged session...
            raise KeyboardInterrupt  # ...then the user pressed Ctrl-C
        real(t, ctx, result)

    monkeypatch.setattr(runner.FORMATS["claude-code"], "convert", flaky)
    monkeypatch.setattr(runner, "COMMIT_EVERY_FILES", 1)
    with pytest.raises(KeyboardInterrupt):
        import_transcripts(ws, "claude-code", src, workers=1)
    files = session_files(ws.root)
    assert len(files) == 1  # the first transcript was committed; the interrupted one is not there
    assert not (ws.state_dir / "import-staging").exists()
    monkeypatch.setattr(runner.FORMATS["claude-code"], "convert", real)
    done = import_transcripts(ws, "claude-code", src, workers=1)
    assert (done.sessions, done.already_imported) == (2, 1)
    for f in session_files(ws.root):
        assert json.loads(f.read_text().splitlines()[-1])["type"] == "session.end"


def audit_records(ws: Workspace) -> list[dict]:
    if not ws.audit_path.exists():
        return []
    return [json.loads(line) for line in ws.audit_path.read_text().splitlines()]


def test_interrupted_import_audits_every_committed_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "p"
    for i in range(3):
        claude_transcript(src / f"s{i}.jsonl", session_id=f"s{i}", start=utc(2026, 5, 5, 9, i), seed=i)
    ws = Workspace(root=tmp_path / "ws", source="option")
    real = runner._commit_batch
    calls = {"n": 0}

    def commit_then_interrupt(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt  # Ctrl-C right after the first batch went in

    monkeypatch.setattr(runner, "_commit_batch", commit_then_interrupt)
    monkeypatch.setattr(runner, "COMMIT_EVERY_FILES", 1)
    with pytest.raises(KeyboardInterrupt):
        import_transcripts(ws, "claude-code", src, workers=1)
    [committed] = session_files(ws.root)
    [rec] = audit_records(ws)
    assert rec["action"] == "sessions-import" and rec["sessions"] == 1
    assert rec["first_session"] == committed.stem and rec["source"] == "claude-code"
    monkeypatch.setattr(runner, "_commit_batch", real)
    import_transcripts(ws, "claude-code", src, workers=1)  # the rest: one record per batch of one
    recs = audit_records(ws)
    assert [r["sessions"] for r in recs] == [1, 1, 1]
    assert sorted(r["first_session"] for r in recs) == sorted(f.stem for f in session_files(ws.root))


def test_interrupt_inside_a_batch_still_audits_what_went_in(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "p"
    for i in range(3):
        claude_transcript(src / f"s{i}.jsonl", session_id=f"s{i}", start=utc(2026, 5, 5, 9, i), seed=i)
    ws = Workspace(root=tmp_path / "ws", source="option")
    real = runner._commit
    calls = {"n": 0}

    def commit_two_then_interrupt(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(*args, **kwargs)

    monkeypatch.setattr(runner, "_commit", commit_two_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        import_transcripts(ws, "claude-code", src, workers=1)  # one batch of three transcripts
    assert len(session_files(ws.root)) == 2
    [rec] = audit_records(ws)
    assert rec["sessions"] == 2 and rec["interrupted"] is True


def test_another_import_holding_the_lock_is_exit_75(tmp_path: Path) -> None:
    from dreamcli.workspace.lock import workspace_lock

    ws = Workspace(root=tmp_path / "ws", source="option")
    ws.ensure()
    with workspace_lock(ws, "sessions-import"):
        r = invoke(ws.root, "sessions", "import", "claude-code", str(SAMPLES))
    assert r.exit_code == 75 and "lock" in r.stderr


def test_dry_run_json_reports_per_file_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "p"
    shutil.copytree(SAMPLES, src, ignore=shutil.ignore_patterns("LICENSE*"))
    (src / "usage-only.jsonl").write_text(json.dumps({"type": "usage", "sessionId": "u", "tokens": 3}) + "\n")
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(src), "--dry-run", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["dry_run"] is True and (data["files"], data["transcripts"], data["sessions"]) == (5, 4, 4)
    by_name = {Path(f["path"]).name: f for f in data["reports"]}
    assert by_name["usage-only.jsonl"] == {"path": str(src / "usage-only.jsonl"), "transcript": False,
                                           "empty": False, "lines": by_name["usage-only.jsonl"]["lines"]}
    assert by_name["usage-only.jsonl"]["lines"]["unknown"] == {"usage": 1}
    edge = by_name["edge_cases.jsonl"]
    assert edge["lines"]["unknown"] == {"(no type)": 1} and edge["totals"]["tool_unanswered"] == 2
    assert data["unknown"] == {"(no type)": 1, "usage": 1} and data["files_with_unknown_lines"] == 2
    assert session_files(tmp_path / "ws") == []  # nothing imported
    human = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(src), "--dry-run")
    assert human.exit_code == 0 and "edge_cases.jsonl" in human.stdout and "unknown" in human.stdout


def test_line_types_named_by_a_transcript_are_printed_as_they_are(tmp_path: Path) -> None:
    """The summary names unknown line types; one named like Rich markup stopped the import's summary with
    an internal error (found by fuzzing)."""
    src = tmp_path / "in"
    shutil.copytree(SAMPLES, src)
    first = sorted(src.rglob("*.jsonl"))[0]
    text = first.read_text()
    first.write_text(text + ("" if text.endswith("\n") else "\n") + json.dumps({"type": "[/]odd[bold]"}) + "\n")
    r = invoke(tmp_path / "ws", "sessions", "import", "claude-code", str(src))
    assert r.exit_code == 0, r.output
    assert "[/]odd[bold] ×1" in r.stdout
