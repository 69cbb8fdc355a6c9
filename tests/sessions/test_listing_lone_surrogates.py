"""One session file holding a lone surrogate escape (`"\\ud800"`: a cut emoji as JavaScript tools write it,
valid JSON that only a file from outside dreamcli holds) is listed, indexed and shown with U+FFFD in its
place, and never breaks `sessions list`, `show` or `reindex` for the other sessions (before: "internal
error: UnicodeEncodeError" from the session index and from the output)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.ids import ulid_at
from dreamcli.workspace.home import Workspace

TS = "2026-12-07T10:00:00.000Z"


def _session(ws: Workspace, n: int, name: str, text: str) -> str:
    """A finished session written by hand as another tool would (the escapes kept as they are)."""
    ms = int(time.time() * 1000) - 3_600_000 + n * 1000
    sid = ulid_at(ms, bytes([n]) * 10)
    day = ws.sessions_dir / time.strftime("%Y/%m/%d", time.gmtime(ms / 1000))
    day.mkdir(parents=True, exist_ok=True)
    head = f'"v":1,"ts":"{TS}","session_id":"{sid}"'
    (day / f"{sid}.jsonl").write_text(
        f'{{{head},"seq":0,"type":"session.start","task":{{"name":"{name}","prompt":"p"}},"tags":["{name}"]}}\n'
        f'{{{head},"seq":1,"type":"message","role":"user","content":"{text}"}}\n'
        f'{{{head},"seq":2,"type":"session.end","status":"completed","totals":{{"turns":1}}}}\n', encoding="ascii")
    return sid


@pytest.fixture
def two(ws: Workspace) -> tuple[Workspace, str, str]:
    """A workspace with the index (as `init` makes it), one session with lone surrogates and one without."""
    assert CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "reindex"]).exit_code == 0
    odd = _session(ws, 1, "\\ud800lone", "cut \\udfff here")
    fine = _session(ws, 2, "fine", "hello")
    return ws, odd, fine


def _ok(ws: Workspace, *args: str) -> Any:
    r = CliRunner().invoke(app, ["--home", str(ws.root), *args])
    assert r.exit_code == 0 and "internal error" not in r.stderr, r.output
    return r.stdout


def test_the_listing_shows_every_session_with_u_fffd_for_the_surrogate(two: tuple[Workspace, str, str]) -> None:
    ws, odd, fine = two
    rows = {s["session_id"]: s for s in json.loads(_ok(ws, "sessions", "list", "--json"))["sessions"]}
    assert set(rows) == {odd, fine}
    assert rows[odd]["task"] == "\ufffdlone" and rows[odd]["tags"] == ["\ufffdlone"]
    assert rows[fine]["task"] == "fine"
    text = _ok(ws, "sessions", "list")
    assert "\ufffdlone" in text and fine in text


def test_reindex_and_the_listing_without_an_index_read_it_too(two: tuple[Workspace, str, str]) -> None:
    ws, odd, fine = two
    _ok(ws, "sessions", "reindex")
    assert {s["session_id"] for s in json.loads(_ok(ws, "sessions", "list", "--json"))["sessions"]} == {odd, fine}
    (ws.state_dir / "sessions-index.sqlite").unlink()  # the scan of the files, as before the index
    assert "\ufffdlone" in _ok(ws, "sessions", "list")


def test_show_gives_u_fffd_in_that_session_and_the_others_as_they_are(two: tuple[Workspace, str, str]) -> None:
    ws, odd, fine = two
    assert "cut \ufffd here" in _ok(ws, "sessions", "show", odd)
    shown = json.loads(_ok(ws, "sessions", "show", odd, "--json"))
    assert [e.get("content") for e in shown["events"]][1] == "cut \ufffd here"
    assert shown["events"][0]["task"]["name"] == "\ufffdlone"
    assert "hello" in _ok(ws, "sessions", "show", fine)
    page = ws.root / "odd.html"
    _ok(ws, "sessions", "show", odd, "--html", str(page))
    assert "cut \ufffd here" in page.read_text(encoding="utf-8")
