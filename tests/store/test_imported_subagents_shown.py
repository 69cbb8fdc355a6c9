"""`sessions show LEAD` (text and --json) finds a lead's imported sub-agents as the listing does, whatever
the order of the import runs: a child imported in a later run than its lead is not named by the lead's log
(no `subagent` event), and names its lead by session id (a Claude Code agent file beside its lead's
transcript) or by transcript only (`import.parent_source_id`: a Codex child, a Claude Code agent file whose
lead's transcript was not on disk).

Before: `sessions list` put the child under its lead, but `sessions show LEAD` printed no sub-agent and its
--json had `"children": []`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import session_path
from dreamcli.store.index import index_path, rebuild
from dreamcli.workspace.home import Workspace
from tests.support.imported_apart import CASES, ids_by_transcript, import_apart
from tests.support.transcripts import codex_rollout, utc


@pytest.fixture(params=["indexed", "scanned"])
def indexed(request: pytest.FixtureRequest, ws: Workspace) -> bool:
    """With the session index (built before the imports; `show` refreshes it from the files) or without one."""
    if request.param == "indexed":
        rebuild(ws)
    else:
        index_path(ws).unlink(missing_ok=True)
    return request.param == "indexed"


def cli(ws: Workspace, *args: str) -> Any:
    r = CliRunner().invoke(app, ["--home", str(ws.root), *args])
    assert r.exit_code == 0, r.output
    return r


@pytest.mark.parametrize("case", CASES)
def test_show_finds_the_sub_agent_the_listing_puts_under_the_lead(ws: Workspace, indexed: bool, tmp_path: Path,
                                                                   case: str) -> None:
    lead, kid = import_apart(ws, tmp_path / "src", case)
    listed = json.loads(cli(ws, "sessions", "list", "--json").stdout)["sessions"]
    assert [(s["session_id"], s["parent_session_id"]) for s in listed] == [(lead, None), (kid, lead)]
    shown = json.loads(cli(ws, "sessions", "show", lead, "--json").stdout)
    assert [(c["session_id"], c["parent_session_id"], c["status"]) for c in shown["children"]] == \
        [(kid, lead, listed[1]["status"])]
    child = json.loads(session_path(ws, kid).read_text().splitlines()[0])
    # read from the child's own log; its brief is its prompt, as an import of both in one run announces it
    assert shown["children"][0]["final_text"] and shown["children"][0]["brief"] == child["task"]["prompt"]
    text = cli(ws, "sessions", "show", lead).stdout
    assert "sub-agents (1)" in text and kid in text


@pytest.mark.parametrize("case", ("codex-lead-first", "codex-child-first"))
def test_a_child_shows_under_no_other_session(ws: Workspace, indexed: bool, tmp_path: Path, case: str) -> None:
    """Only the lead gets it: an unrelated session, and the child itself, show no sub-agent."""
    lead, kid = import_apart(ws, tmp_path / "src", case)
    codex_rollout(tmp_path / "other", thread_id="0199a213-81c0-7800-8aa1-000000000009",
                  start=utc(2026, 4, 3, 7, 59), seed=3)
    import_transcripts(ws, "codex", tmp_path / "other", workers=1)
    other = ids_by_transcript(ws)["0199a213-81c0-7800-8aa1-000000000009"]
    for sid in (other, kid):
        assert json.loads(cli(ws, "sessions", "show", sid, "--json").stdout)["children"] == []
    assert [c["session_id"] for c in json.loads(cli(ws, "sessions", "show", lead, "--json").stdout)["children"]] \
        == [kid]
