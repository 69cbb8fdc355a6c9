"""A run refused after its log was opened (a `--parallel` run, a sub-agent, a pilot run) removes its empty log and
the dated folder (sessions/YYYY/MM/DD/) that leaves empty, race-free: only os.rmdir, which removes no file and
fails on a folder another writer has put a file in, and a writer that lost its freshly made folder to that
removal makes it again and opens once more (docs/session-log.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import UsageError
from dreamcli.ids import new_ulid
from dreamcli.orchestration.supervisor import SupervisedWriter
from dreamcli.sessions.writer import SessionWriter
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace


def folders(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_dir())


def test_a_discarded_log_leaves_no_empty_dated_folder(ws: Workspace) -> None:
    writer = SupervisedWriter(ws)
    assert writer.path.parent.is_dir()
    writer.discard_if_empty()
    assert not writer.path.exists()
    assert folders(ws.sessions_dir) == [] and ws.sessions_dir.is_dir()


def test_a_folder_with_another_session_is_kept(ws: Workspace) -> None:
    kept = SessionWriter(ws)
    kept.write("message", role="user", content="hi")
    kept.close()
    refused = SupervisedWriter(ws, session_id=kept.session_id[:-1] + ("0" if kept.session_id[-1] != "0" else "1"))
    assert refused.path.parent == kept.path.parent
    refused.discard_if_empty()
    assert kept.path.is_file() and not refused.path.exists()


def test_a_refused_batch_run_leaves_no_empty_dated_folder(fake_anthropic: FakeAnthropic, home: Path,
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused once its log is open (a decision made meanwhile refuses its --with-proposal trial, say)."""
    (tmp_path / "wd").mkdir()
    task = tmp_path / "task.yaml"
    task.write_text("name: t\nprompt: hi\nworkdir: wd\ntools: [read]\n")
    assert CliRunner().invoke(app, ["--home", str(home), "init"]).exit_code == 0

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise UsageError("refused after the log was opened")

    monkeypatch.setattr("dreamcli.agent.loop.select_for_run", refuse)
    r = CliRunner().invoke(app, ["--home", str(home), "run", str(task), "--parallel", "1", "--yes"])
    assert r.exit_code == 1 and "refused after the log was opened" in r.stderr, r.output
    assert folders(home / "sessions") == []


def _losing_the_folder_once(monkeypatch: pytest.MonkeyPatch, name: str, folder: Path) -> list[Path]:
    """os.`name` finds `folder` gone the first time it is called for a path in it: a concurrent refused run
    removed it (empty) between this writer's mkdir and its open or rename. Returns the folders removed."""
    real = getattr(os, name)
    removed: list[Path] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        target = Path(args[1] if name == "replace" else args[0])
        if not removed and target.parent == folder:
            os.rmdir(folder)
            removed.append(folder)
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, racing)
    return removed


def test_a_writer_whose_new_folder_vanished_before_its_open_still_writes(ws: Workspace,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.sessions.paths import session_path

    sid = new_ulid()
    removed = _losing_the_folder_once(monkeypatch, "open", session_path(ws, sid).parent)
    writer = SessionWriter(ws, session_id=sid)
    writer.write("message", role="user", content="hi")
    writer.close()
    assert removed and writer.path.read_text().count("\n") == 1


def test_an_import_whose_new_folder_vanished_before_its_rename_still_lands(ws: Workspace, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.sessions.importers.common import final_path
    from dreamcli.sessions.importers.context import UnitResult
    from dreamcli.sessions.importers.runner import ImportSummary, _commit

    sid = new_ulid()
    staged = ws.state_dir / "import-staging" / f"{sid}.jsonl"
    staged.parent.mkdir(parents=True)
    staged.write_text('{"type":"session.start"}\n')
    final = final_path(ws, sid)
    final.parent.mkdir(parents=True)
    removed = _losing_the_folder_once(monkeypatch, "replace", final.parent)
    result = UnitResult(str(tmp_path / "transcript.jsonl"), staged=[(sid, str(staged))])
    _commit(ws, result, ImportSummary("claude-code", str(tmp_path)), ([], []), set())
    assert removed and final.read_text() == '{"type":"session.start"}\n'
