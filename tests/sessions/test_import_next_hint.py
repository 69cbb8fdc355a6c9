"""The "next:" hint after `sessions import` names the workspace --home chose, so copying it works on the
same workspace (as the cloud commands' hints do)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from tests.support.transcripts import claude_transcript, utc


def _import(home: Path, source: Path, *, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--home", str(home), "sessions", "import", "claude-code", str(source)],
                              env=env)


def _transcripts(tmp_path: Path) -> Path:
    claude_transcript(tmp_path / "projects" / "-p" / "s.jsonl", session_id="s", start=utc(2026, 5, 2, 9))
    return tmp_path / "projects"


def test_the_next_hint_keeps_home(tmp_path: Path) -> None:
    home = tmp_path / "my ws"  # a space: the hint quotes the path
    r = _import(home, _transcripts(tmp_path))
    assert r.exit_code == 0, r.output
    hint = [ln for ln in r.stderr.splitlines() if ln.startswith("next:")]
    prefix = f"dreamcli --home {shlex.quote(str(home))}"
    assert hint == [f"next: {prefix} sessions list --limit 20   ·   {prefix} dream --offline"], r.stderr


def test_without_home_the_hint_is_plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DREAMCLI_HOME", str(tmp_path / "ws"))
    r = CliRunner().invoke(app, ["sessions", "import", "claude-code", str(_transcripts(tmp_path))])
    assert r.exit_code == 0, r.output
    hint = [ln for ln in r.stderr.splitlines() if ln.startswith("next:")]
    assert hint == ["next: dreamcli sessions list --limit 20   ·   dreamcli dream --offline"], r.stderr
