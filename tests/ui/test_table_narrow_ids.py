"""Below the width of an id (a session id is 26 characters) a table never cuts it: the line is wider
than the terminal instead (docs/cli.md: tables "never cut an id")."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from dreamcli.ui import console
from tests.support.outcomes import make_session, workspace
from tests.ui.test_table_widths import DID, SID, TABLES

NARROW = (10, 20, 24, 28)


@pytest.mark.parametrize("width", NARROW)
@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_id_stays_whole_on_a_narrow_terminal(name: str, width: int, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setattr(console, "_cache", {})
    render, whole, _ = TABLES[name]
    render()
    text = capsys.readouterr().out
    words = set(re.findall(r"[^\s,()]+", text))
    ids = [t for t in whole if t in (*SID, DID)]
    assert all(i in words for i in ids), (ids, text)
    assert not [w for w in words if re.fullmatch(r"01[0-9A-Z]{4,23}", w)], text  # no piece of an id alone


@pytest.mark.parametrize("width", NARROW)
def test_sessions_list_at_columns(width: int, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from dreamcli.cli.app import app

    ws = workspace(tmp_path)
    sid = make_session(ws)
    monkeypatch.setattr(console, "_cache", {})
    r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "list"],
                           env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    assert sid in r.stdout.split(), r.stdout
