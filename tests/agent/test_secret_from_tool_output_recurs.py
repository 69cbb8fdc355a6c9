"""A secret a tool printed (`cat .env`: the tool's output is redacted before the log sees it) is found again
bare wherever it recurs in the session: the agent's next command, what it writes to memory, its answer on
stdout and in `--json` (report s19 D §2: the session's memory only learned from what the writer redacted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.run import invoke_run, session_files

PASSWORD = "Hunter2Secret99x"


@pytest.mark.parametrize("as_json", [False, True])
def test_a_password_a_tool_printed_is_redacted_where_it_recurs(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                               tmp_path: Path, as_json: bool) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / ".env").write_text(f"DB_PASSWORD={PASSWORD}\n")
    fake_anthropic.expect(
        tool_reply(tool_use("read", {"file_path": ".env"})),
        tool_reply(tool_use("memory", {"command": "create", "path": "/memories/db.md",
                                       "file_text": f"to reach the db: {PASSWORD}\n"})),
        text_reply(f"Connected using {PASSWORD}."),
    )
    r = invoke_run(["-p", "connect to the db", "-C", str(wd), "--yes", *(["--json"] if as_json else [])], ws.root)
    assert r.exit_code == 0, r.stderr
    assert PASSWORD not in r.stdout and PASSWORD not in r.stderr  # the streamed answer too
    if as_json:
        assert json.loads(r.stdout)["final_text"] == "Connected using [REDACTED:password]."
    else:
        assert "Connected using [REDACTED:password]." in r.stdout
    (log,) = session_files(ws.root)
    text = log.read_text()
    assert PASSWORD not in text and "to reach the db: [REDACTED:password]" in text
    notes = list((ws.root / "memory").rglob("db.md"))
    assert notes and all(PASSWORD not in p.read_text() for p in notes)
    # what went back to the model: the read's output and the memory call's echo, both redacted
    assert all(PASSWORD not in json.dumps(req.body.get("messages", [])[1:]) for req in fake_anthropic.requests[1:])
