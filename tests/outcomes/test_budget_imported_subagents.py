"""The budget checks count a lead's imported sub-agent whatever the order of the import runs: a child imported
in a later run than its lead is not named by the lead's log, and names its lead by session id or by
transcript only (`import.parent_source_id`). The sessions counted are the ones `sessions list` puts under
the lead.

Before: "turns 5 <= 100" (Claude Code) or "turns 4 <= 100" (Codex): the child's turns went uncounted when
its lead's log did not name it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.paths import session_path
from dreamcli.workspace.home import Workspace
from tests.support.imported_apart import CASES, import_apart
from tests.support.outcomes import write_spec

SPEC = """
name: budget
criteria:
  - id: turns
    check: {type: max_turns, value: 100}
"""


def turns(ws: Workspace, session_id: str) -> int:
    end = json.loads(session_path(ws, session_id).read_text().splitlines()[-1])
    return int(end["totals"]["turns"])


@pytest.mark.parametrize("case", CASES)
def test_the_budget_counts_a_sub_agent_imported_apart(ws: Workspace, tmp_path: Path, case: str) -> None:
    lead, kid = import_apart(ws, tmp_path / "src", case)
    spec = write_spec(tmp_path / "budget.yaml", SPEC)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "grade", lead, "--outcome", str(spec), "--json"])
    assert r.exit_code == 0, r.output
    (res,) = json.loads(r.stdout)["results"]
    (check,) = res["criteria"]
    own, theirs = turns(ws, lead), turns(ws, kid)
    assert check["reason"] == f"turns {own + theirs} (lead {own} + 1 sub-agent) <= 100"


@pytest.mark.parametrize("case", ("codex-lead-first", "codex-child-first"))
def test_the_child_graded_alone_counts_only_itself(ws: Workspace, tmp_path: Path, case: str) -> None:
    _lead, kid = import_apart(ws, tmp_path / "src", case)
    spec = write_spec(tmp_path / "budget.yaml", SPEC)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "grade", kid, "--outcome", str(spec), "--json"])
    assert r.exit_code == 0, r.output
    (res,) = json.loads(r.stdout)["results"]
    assert res["criteria"][0]["reason"] == f"turns {turns(ws, kid)} <= 100"
