"""Budget checks (`max_cost_usd`, `max_turns`, `max_tool_errors`) count a lead's sub-agents too: their
own logs in the workspace, named by the lead's `subagent` events (docs/outcomes.md, "Specs")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.config import Config
from dreamcli.outcomes import evidence
from dreamcli.outcomes.evidence import load_run
from dreamcli.outcomes.grading import Grader
from dreamcli.outcomes.spec import load_spec
from dreamcli.sessions.paths import session_path
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import write_spec

BUDGETS = """
name: budgets
criteria:
  - id: cost
    check: {type: max_cost_usd, value: 0.05}
  - id: turns
    check: {type: max_turns, value: 6}
  - id: errors
    check: {type: max_tool_errors, value: 1}
"""


def _session(ws: Workspace, *, cost: float, turns: int, tool_errors: int, parent: str | None = None) -> SessionWriter:
    w = SessionWriter(ws)
    w.start(task={"name": "split", "prompt": "Split it."}, model="claude-sonnet-5-5", workdir=None,
            agent="subagent" if parent else None, parent_session_id=parent)
    w.message("user", [{"type": "text", "text": "Split it."}])
    w.message("assistant", [{"type": "text", "text": "Done."}], model="claude-sonnet-5-5", stop_reason="end_turn")
    w.end("completed", totals={"turns": turns, "cost_usd": cost, "tool_errors": tool_errors, "tool_calls": 1})
    return w


def lead_with_children(ws: Workspace, n: int, *, missing: int = 0) -> str:
    """A lead ($0.004, 2 turns, no tool error) and `n` sub-agents ($0.016, 2 turns, 1 tool error each), of
    which the last `missing` have no log in the workspace."""
    lead = SessionWriter(ws)  # its id first: the children name it as their parent
    kids = [_session(ws, cost=0.016, turns=2, tool_errors=1, parent=lead.session_id) for _ in range(n)]
    for w in kids[n - missing:]:
        w.path.unlink()
    lead.start(task={"name": "split", "prompt": "Split it."}, model="claude-sonnet-5-5", workdir=None)
    for w in kids:
        lead.subagent(event="started", child_session_id=w.session_id, brief="a part", status="running")
        lead.subagent(event="finished", child_session_id=w.session_id, status="completed", cost_usd=0.016)
    lead.message("assistant", [{"type": "text", "text": "Merged."}], model="claude-sonnet-5-5",
                 stop_reason="end_turn")
    lead.end("completed", totals={"turns": 2, "cost_usd": 0.004, "tool_errors": 0, "tool_calls": 1})
    return lead.session_id


def _grade(ws: Workspace, tmp_path: Path, session_id: str) -> dict[str, tuple[bool, str]]:
    spec = load_spec(write_spec(tmp_path / "budgets.yaml", BUDGETS))
    res = Grader(ws, Config()).grade_run(load_run(session_path(ws, session_id)), spec)
    return {c.id: (c.passed, c.reason) for c in res.criteria}


def test_a_lead_that_delegated_is_held_to_the_budget_with_its_sub_agents(ws: Workspace, tmp_path: Path) -> None:
    """Before: "cost $0.0040 <= $0.0500" passed for a run that spent $0.0520 in all."""
    got = _grade(ws, tmp_path, lead_with_children(ws, 3))
    assert got["cost"] == (False, "cost $0.0520 (lead $0.0040 + 3 sub-agents) > $0.0500")
    assert got["turns"] == (False, "turns 8 (lead 2 + 3 sub-agents) > 6")
    assert got["errors"] == (False, "tool errors 3 (lead 0 + 3 sub-agents) > 1")


def test_sub_agents_missing_from_the_workspace_are_said_not_counted(ws: Workspace, tmp_path: Path) -> None:
    got = _grade(ws, tmp_path, lead_with_children(ws, 3, missing=2))
    assert got["cost"] == (True, "cost $0.0200 (lead $0.0040 + 1 sub-agent; 2 not found) <= $0.0500")
    assert got["turns"] == (True, "turns 4 (lead 2 + 1 sub-agent; 2 not found) <= 6")
    got = _grade(ws, tmp_path, lead_with_children(ws, 1, missing=1))
    assert got["cost"] == (True, "cost $0.0040 (lead $0.0040 + 0 sub-agents; 1 not found) <= $0.0500")


def test_a_session_without_sub_agents_reads_as_before(ws: Workspace, tmp_path: Path) -> None:
    sid = _session(ws, cost=0.01, turns=2, tool_errors=0).session_id
    got = _grade(ws, tmp_path, sid)
    assert got["cost"] == (True, "cost $0.0100 <= $0.0500")
    assert got["turns"] == (True, "turns 2 <= 6")


def test_grade_cli_fails_the_lead_on_its_sub_agents_spend(ws: Workspace, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "budgets.yaml", BUDGETS)
    lead = lead_with_children(ws, 3)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "grade", lead, "--outcome", str(spec), "--json"])
    assert r.exit_code == 1, r.output
    (res,) = json.loads(r.stdout)["results"]
    cost = next(c for c in res["criteria"] if c["id"] == "cost")
    assert cost["passed"] is False and cost["evidence"] == "$0.0520"


def _named(lead: SessionWriter, cost: float, kids: list[str], *, parent: str | None = None) -> str:
    """`lead` logged at `cost` (one turn, no tool error), its `subagent` events naming `kids`."""
    lead.start(task={"name": "split", "prompt": "Split it."}, model="claude-sonnet-5-5", workdir=None,
               agent="subagent" if parent else None, parent_session_id=parent)
    for kid in kids:
        lead.subagent(event="started", child_session_id=kid, brief="a part", status="running")
    lead.message("assistant", [{"type": "text", "text": "Done."}], model="claude-sonnet-5-5", stop_reason="end_turn")
    lead.end("completed", totals={"turns": 1, "cost_usd": cost, "tool_errors": 0, "tool_calls": 0})
    return lead.session_id


def test_sub_agents_of_sub_agents_count_too_at_any_depth(ws: Workspace, tmp_path: Path) -> None:
    """Before: "cost $0.0200 (lead $0.0100 + 1 sub-agent) <= $0.0500": the grandchild ($0.04) went uncounted."""
    lead, child, grand = SessionWriter(ws), SessionWriter(ws), SessionWriter(ws)
    _named(grand, 0.04, [], parent=child.session_id)
    _named(child, 0.01, [grand.session_id], parent=lead.session_id)
    _named(lead, 0.01, [child.session_id])
    got = _grade(ws, tmp_path, lead.session_id)
    assert got["cost"] == (False, "cost $0.0600 (lead $0.0100 + 2 sub-agents) > $0.0500")
    assert got["turns"] == (True, "turns 3 (lead 1 + 2 sub-agents) <= 6")


def test_a_cycle_of_sub_agents_counts_each_session_once(ws: Workspace, tmp_path: Path) -> None:
    lead, child = SessionWriter(ws), SessionWriter(ws)
    _named(child, 0.01, [lead.session_id, child.session_id], parent=lead.session_id)  # names back up
    _named(lead, 0.01, [child.session_id, child.session_id])
    got = _grade(ws, tmp_path, lead.session_id)
    assert got["cost"] == (True, "cost $0.0200 (lead $0.0100 + 1 sub-agent) <= $0.0500")


def test_a_lead_naming_itself_is_not_its_own_sub_agent(ws: Workspace, tmp_path: Path) -> None:
    """Before: "cost $0.0600 (lead $0.0300 + 1 sub-agent) > $0.0500": the lead counted twice."""
    me = SessionWriter(ws)
    _named(me, 0.03, [me.session_id])
    assert _grade(ws, tmp_path, me.session_id)["cost"] == (True, "cost $0.0300 <= $0.0500")


def test_a_session_of_another_lead_is_not_counted(ws: Workspace, tmp_path: Path) -> None:
    """A log naming a session whose parent is someone else (or no one) adds nothing of it; the reason says so."""
    other, stray, theirs = SessionWriter(ws), SessionWriter(ws), SessionWriter(ws)
    _named(stray, 0.02, [])  # a top-level session
    _named(theirs, 0.02, [], parent=other.session_id)  # another lead's sub-agent
    _named(other, 0.0, [theirs.session_id])
    lead, mine = SessionWriter(ws), SessionWriter(ws)
    _named(mine, 0.01, [], parent=lead.session_id)
    _named(lead, 0.01, [mine.session_id, stray.session_id, theirs.session_id])
    got = _grade(ws, tmp_path, lead.session_id)
    assert got["cost"] == (True, "cost $0.0200 (lead $0.0100 + 1 sub-agent; 2 not its sub-agents) <= $0.0500")


def test_the_walk_stops_at_its_cap_and_says_so(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "MAX_SUBAGENT_LOGS", 2)
    lead = SessionWriter(ws)
    kids = [SessionWriter(ws) for _ in range(3)]
    for kid in kids:
        _named(kid, 0.01, [], parent=lead.session_id)
    _named(lead, 0.01, [k.session_id for k in kids])
    got = _grade(ws, tmp_path, lead.session_id)
    assert got["cost"] == (True, "cost $0.0300 (lead $0.0100 + 2 sub-agents; 1 not read (limit 2)) <= $0.0500")


def test_a_codex_child_imported_before_its_lead_counts(ws: Workspace, tmp_path: Path) -> None:
    """`sessions import` of the day the child (and its own child) was filed, then of the lead's: the child's
    parent_session_id stays null, its `import.parent_source_id` names the lead's transcript. Before:
    "turns 1 (lead 1 + 0 sub-agents; 1 not its sub-agent)", its whole subtree uncounted."""
    from dreamcli.sessions.importers.runner import import_transcripts
    from dreamcli.sessions.paths import iter_session_files
    from tests.support.transcripts import codex_rollout, utc

    ids = [f"aaaaaaaa-0000-4000-8000-00000000000{i}" for i in (1, 2, 3)]
    src = tmp_path / "codex"
    for i, thread in enumerate(ids):
        codex_rollout(src / ("lead" if i == 0 else "kids"), thread_id=thread, start=utc(2026, 5, 1, 9, 0, 5 * i),
                      seed=i + 1, parent_thread_id=ids[i - 1] if i else None)
    import_transcripts(ws, "codex", src / "kids", workers=1)
    import_transcripts(ws, "codex", src, workers=1)
    lead = next(p for p in iter_session_files(ws)
                if json.loads(p.read_text().splitlines()[0])["import"]["source_id"] == ids[0])
    run = load_run(lead)
    evidence.add_subagents(run, ws)
    assert (run.subagents.count if run.subagents else None, evidence.subagents_left_out(run)) == (2, [])


def _imported(w: SessionWriter, kids: list[str], *, source: str, source_id: str, parent_source_id: str | None = None,
              parent: str | None = None) -> str:
    info = {"path": "/t.jsonl", "source_id": source_id}
    if parent_source_id:
        info["parent_source_id"] = parent_source_id
    w.start(task={"name": "split", "prompt": "Split it."}, model="m", workdir=None, source=source,
            parent_session_id=parent, **{"import": info})
    for kid in kids:
        w.subagent(event="started", child_session_id=kid, brief="a part", status="running")
    w.end("completed", totals={"turns": 1, "cost_usd": 0.01, "tool_errors": 0, "tool_calls": 0})
    return w.session_id


def test_a_child_named_by_transcript_only_from_its_leads_source_and_with_no_parent(ws: Workspace,
                                                                                   tmp_path: Path) -> None:
    lead, other = SessionWriter(ws), SessionWriter(ws)
    ok = _imported(SessionWriter(ws), [], source="codex", source_id="K", parent_source_id="L")
    elsewhere = _imported(SessionWriter(ws), [], source="claude-code", source_id="K2", parent_source_id="L")
    claimed = _imported(SessionWriter(ws), [], source="codex", source_id="K3", parent_source_id="L",
                        parent=other.session_id)
    unnamed = _imported(SessionWriter(ws), [], source="codex", source_id="K4")
    _imported(lead, [ok, elsewhere, claimed, unnamed], source="codex", source_id="L")
    got = _grade(ws, tmp_path, lead.session_id)
    assert got["cost"] == (True, "cost $0.0200 (lead $0.0100 + 1 sub-agent; 3 not its sub-agents) <= $0.0500")
