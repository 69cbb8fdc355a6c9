"""A sub-agent imported in another run than its lead (`sessions import codex` of the lead's rollouts one day,
of the child's the next, or the child's first) has no parent_session_id: its session.start names its lead
only by transcript, `import.parent_source_id`. Listings (tree, --json, --no-children, with the session
index and without it) and `grade --last` still treat it as its lead's sub-agent.

Before: `sessions list` showed the child as a top-level session (`parent_session_id: null`, counted by
--limit, kept by --no-children), and `grade --last 1` graded the child instead of its lead."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.summary import SessionFilter, list_sessions
from dreamcli.store.index import index_path, list_summaries, rebuild
from dreamcli.workspace.home import Workspace
from tests.support.listing import reference_listing, streamed_listing
from tests.support.outcomes import write_spec
from tests.support.transcripts import claude_subagent_file, claude_transcript, codex_rollout, utc

LEAD, KID, GRANDKID, OTHER = (f"0199a213-81c0-7800-8aa1-00000000000{i}" for i in range(1, 5))
ORDERS = ("lead-first", "child-first")
SPEC = """
name: checks
criteria:
  - id: fixed
    check: {type: contains, value: Fixed}
"""


@pytest.fixture(params=["indexed", "scanned"])
def indexed(request: pytest.FixtureRequest, ws: Workspace) -> bool:
    """With the session index (built before the imports; a listing refreshes it from the files) or without one."""
    if request.param == "indexed":
        rebuild(ws)
    else:
        index_path(ws).unlink(missing_ok=True)
    return request.param == "indexed"


def ids_by_thread(ws: Workspace) -> dict[str, str]:
    out = {}
    for p in iter_session_files(ws):
        start = json.loads(p.read_text().splitlines()[0])
        out[start["import"]["source_id"]] = start["session_id"]
    return out


def import_apart(ws: Workspace, src: Path, order: str, *, other: bool = True) -> dict[str, str]:
    """The lead's rollout and its sub-agent's, imported in two runs; `other`: an unrelated rollout, started
    between the two (so newest first: the child, the other, the lead). Session ids by thread."""
    codex_rollout(src / "lead", thread_id=LEAD, start=utc(2026, 4, 3, 8), seed=1)
    codex_rollout(src / "kid", thread_id=KID, start=utc(2026, 4, 3, 8, 0, 40), seed=2, parent_thread_id=LEAD)
    if other:
        codex_rollout(src / "other", thread_id=OTHER, start=utc(2026, 4, 3, 8, 0, 20), seed=3)
        import_transcripts(ws, "codex", src / "other", workers=1)
    for part in (("lead", "kid") if order == "lead-first" else ("kid", "lead")):
        import_transcripts(ws, "codex", src / part, workers=1)
    got = ids_by_thread(ws)
    start = json.loads(next(p for p in iter_session_files(ws) if p.stem == got[KID]).read_text().splitlines()[0])
    assert start["parent_session_id"] is None and start["import"]["parent_source_id"] == LEAD  # the defect's shape
    return got


def cli(ws: Workspace, *args: str) -> Any:
    r = CliRunner().invoke(app, ["--home", str(ws.root), *args])
    assert r.exit_code == 0, r.output
    return r


def table(ws: Workspace, *args: str) -> list[str]:
    """The id column of `sessions list`, a child's id with its `└ ` marker."""
    lines = cli(ws, "sessions", "list", *args).stdout.splitlines()[1:]
    return [" ".join(line.split()[:2]) if line.lstrip().startswith("└") else line.split()[0] for line in lines]


def listed(ws: Workspace, *args: str) -> list[tuple[str, str | None]]:
    data = json.loads(cli(ws, "sessions", "list", "--json", *args).stdout)
    return [(s["session_id"], s["parent_session_id"]) for s in data["sessions"]]


@pytest.mark.parametrize("order", ORDERS)
def test_the_child_is_listed_under_its_lead(ws: Workspace, indexed: bool, tmp_path: Path, order: str) -> None:
    ids = import_apart(ws, tmp_path / "codex", order)
    lead, kid, other = ids[LEAD], ids[KID], ids[OTHER]
    assert table(ws) == [other, lead, f"└ {kid}"]
    assert listed(ws) == [(other, None), (lead, None), (kid, lead)]
    # --limit counts leads only: the child is neither counted nor shown without its lead
    assert table(ws, "--limit", "2") == [other, lead, f"└ {kid}"]
    assert table(ws, "--limit", "1") == [other]
    assert listed(ws, "--limit", "1") == [(other, None)]


@pytest.mark.parametrize("order", ORDERS)
def test_no_children_leaves_the_child_out(ws: Workspace, indexed: bool, tmp_path: Path, order: str) -> None:
    ids = import_apart(ws, tmp_path / "codex", order)
    assert table(ws, "--no-children") == [ids[OTHER], ids[LEAD]]
    assert listed(ws, "--no-children") == [(ids[OTHER], None), (ids[LEAD], None)]
    flt = SessionFilter(include_children=False)
    assert [s.session_id for s in list_sessions(ws, flt)] == [ids[OTHER], ids[LEAD]]


def test_a_child_whose_lead_was_never_imported_is_still_a_sub_agent(ws: Workspace, indexed: bool,
                                                                   tmp_path: Path) -> None:
    codex_rollout(tmp_path / "kid", thread_id=KID, start=utc(2026, 4, 3, 8, 0, 40), seed=2, parent_thread_id=LEAD)
    codex_rollout(tmp_path / "other", thread_id=OTHER, start=utc(2026, 4, 3, 8, 0, 20), seed=3)
    for part in ("kid", "other"):
        import_transcripts(ws, "codex", tmp_path / part, workers=1)
    ids = ids_by_thread(ws)
    assert table(ws) == [f"└ {ids[KID]}", ids[OTHER]]  # where it is, marked as a sub-agent, as a lost lead's child
    assert listed(ws) == [(ids[KID], None), (ids[OTHER], None)]  # no lead to name
    assert listed(ws, "--no-children") == [(ids[OTHER], None)]


def test_a_grandchild_imported_on_its_own_nests_under_the_child(ws: Workspace, indexed: bool,
                                                              tmp_path: Path) -> None:
    src = tmp_path / "codex"
    codex_rollout(src / "g", thread_id=GRANDKID, start=utc(2026, 4, 3, 8, 1), seed=4, parent_thread_id=KID)
    import_transcripts(ws, "codex", src / "g", workers=1)  # the grandchild first, then the rest apart
    ids = import_apart(ws, src, "lead-first", other=False)
    assert listed(ws) == [(ids[LEAD], None), (ids[KID], ids[LEAD]), (ids[GRANDKID], ids[KID])]
    assert listed(ws, "--no-children") == [(ids[LEAD], None)]


def test_a_claude_code_sub_agent_imported_before_its_lead(ws: Workspace, indexed: bool, tmp_path: Path) -> None:
    """The child's file imported while its lead's transcript was not on disk (no lead id to derive), the lead
    later: the same link by transcript id (`<lead>` and `<lead>/agent-<id>`)."""
    project = tmp_path / "claude" / "-home-dev-proj"
    lead_id = "7f3c2a10-0000-4000-8000-000000000001"
    claude_subagent_file(project, lead_id, "a1", utc(2026, 4, 3, 8, 0, 30))
    import_transcripts(ws, "claude-code", project / lead_id / "subagents", workers=1)
    claude_transcript(project / f"{lead_id}.jsonl", session_id=lead_id, start=utc(2026, 4, 3, 8))
    import_transcripts(ws, "claude-code", project, workers=1)
    ids = ids_by_thread(ws)
    lead, kid = ids[lead_id], ids[f"{lead_id}/agent-a1"]
    assert listed(ws) == [(lead, None), (kid, lead)]
    assert listed(ws, "--no-children") == [(lead, None)]


def test_an_index_written_before_the_links_is_built_again(ws: Workspace, tmp_path: Path) -> None:
    """An index of the previous version has no transcript ids: it is dropped and built from the files."""
    rebuild(ws)
    ids = import_apart(ws, tmp_path / "codex", "child-first")
    expected = [(ids[OTHER], None), (ids[LEAD], None), (ids[KID], ids[LEAD])]
    assert listed(ws) == expected  # the rows indexed
    with sqlite3.connect(index_path(ws)) as db:  # as version 5 left them: no column knows the transcripts
        assert db.execute("UPDATE sessions SET import_source_id = NULL, import_parent_source_id = NULL").rowcount == 3
        db.execute("PRAGMA user_version = 5")
    assert listed(ws) == expected


def test_index_and_scan_agree_across_days_and_filters(ws: Workspace, tmp_path: Path) -> None:
    """A lead started before midnight, its child after: `--since` the child's day still names the lead (the
    scan reads on past the day for it); the streamed --json is the summaries' and the scan's."""
    src = tmp_path / "codex"
    codex_rollout(src / "lead", thread_id=LEAD, start=utc(2026, 4, 2, 23, 59), seed=1)
    codex_rollout(src / "kid", thread_id=KID, start=utc(2026, 4, 3, 0, 0, 30), seed=2, parent_thread_id=LEAD)
    codex_rollout(src / "other", thread_id=OTHER, start=utc(2026, 4, 3, 0, 0, 10), seed=3)
    for part in ("kid", "other", "lead"):
        import_transcripts(ws, "codex", src / part, workers=1)
    ids = ids_by_thread(ws)
    since = datetime(2026, 4, 3, tzinfo=UTC)
    filters = [{}, {"include_children": False}, {"since": since}, {"status": "completed"}]
    scanned = {}
    for kw in filters:
        for limit in (1, 2, None):
            scanned[str(kw), limit] = reference_listing(ws, SessionFilter(**kw), limit)  # type: ignore[arg-type]
            assert streamed_listing(ws, SessionFilter(**kw), limit) == scanned[str(kw), limit]  # type: ignore[arg-type]
    rebuild(ws)
    for kw in filters:
        for limit in (1, 2, None):
            assert reference_listing(ws, SessionFilter(**kw), limit) == scanned[str(kw), limit], (kw, limit)  # type: ignore[arg-type]
            assert streamed_listing(ws, SessionFilter(**kw), limit) == scanned[str(kw), limit], (kw, limit)  # type: ignore[arg-type]
        # a scanned row is linked when its lead is met: read the rows once the listing is done
        oldest_first = list(list_sessions(ws, SessionFilter(**kw), newest_first=False))  # type: ignore[arg-type]
        assert [s.to_json() for s in list_summaries(ws, SessionFilter(**kw), newest_first=False)] == \
            [s.to_json() for s in oldest_first]  # type: ignore[arg-type]
    got = json.loads(scanned[str({"since": since}), None])["sessions"]
    assert [(s["session_id"], s["parent_session_id"]) for s in got] == [(ids[KID], ids[LEAD]), (ids[OTHER], None)]


@pytest.mark.parametrize("order", ORDERS)
def test_grade_last_grades_the_lead_not_its_sub_agent(ws: Workspace, tmp_path: Path, order: str) -> None:
    ids = import_apart(ws, tmp_path / "codex", order, other=False)
    spec = write_spec(tmp_path / "checks.yaml", SPEC)
    r = cli(ws, "grade", "--last", "1", "--outcome", str(spec), "--json")
    assert [x["session_id"] for x in json.loads(r.stdout)["results"]] == [ids[LEAD]]
