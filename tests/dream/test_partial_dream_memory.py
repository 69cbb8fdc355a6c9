"""A dream over part of the sessions (--task, --since, --session) cannot tell that a memory note is unused:
it proposes no retirement (it called a note the medical sessions read "not written or read by any session
for 58 days"). A dream that read no session (a misspelt --task) proposes nothing and writes no dream.
And --memory-store names a store that exists (a misspelt one was read as an empty store)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.config import Config
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.engine import DreamOptions, DreamResult, run_dream
from dreamcli.dream.memory import memory_operations
from dreamcli.errors import UsageError
from dreamcli.workspace.home import Workspace

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline

MEDS = "/memories/medical-summary/medication-lists.md"


def _ws(demo: Path) -> Workspace:
    """The samples with the duplicate of MEDS gone (a merge keeps MEDS from retirement) and MEDS old on disk."""
    ws = Workspace(root=demo, source="option")
    mem = ws.memories_root("default")
    (mem / "medical" / "med-list-is-stale.md").unlink()
    old = datetime(2026, 9, 1, tzinfo=UTC).timestamp()
    os.utime(mem / "medical-summary" / "medication-lists.md", (old, old))
    return ws


def _dream(ws: Workspace, **kw: object) -> DreamResult:
    return run_dream(ws, Config(), DreamOptions(offline=True, dry_run=True, **kw))  # type: ignore[arg-type]


def _retired(result: DreamResult) -> set[str | None]:
    return {o.path for o in result.operations if o.target == "memory" and o.op == "retire"}


def _run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("selection", [
    {"task": "contract-review"},
    {"since": datetime(2026, 10, 20, tzinfo=UTC)},
    {"session_ids": ["01M64XSY"]},
])
def test_a_partial_dream_proposes_no_retirement(demo: Path, selection: dict[str, object]) -> None:
    ws = _ws(demo)
    full = _dream(ws)
    assert full.dream["inputs"]["sessions"] == 40
    assert MEDS not in _retired(full)  # the medical sessions write and read it
    assert "/memories/ci/runner-disk.md" in _retired(full)  # staleness is still judged by a full dream
    part = _dream(ws, **selection)
    assert part.dream["inputs"]["sessions"] > 0
    assert _retired(part) == set()


def test_a_partial_dream_still_merges_duplicate_notes(demo: Path) -> None:
    part = _dream(Workspace(root=demo, source="option"), task="contract-review")
    ops = [(o.op, o.path) for o in part.operations if o.target == "memory"]
    assert ("merge", MEDS) in ops and not any(op == "retire" for op, _ in ops)


def test_memory_operations_without_judging_staleness(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    note = ws.memories_root("default") / "old.md"
    note.parent.mkdir(parents=True)
    note.write_text("The VPN needs a restart every Monday.\n")
    os.utime(note, (0, 0))
    ref = datetime(2026, 11, 24, tzinfo=UTC)
    assert [o.op for o in memory_operations(ws, "default", Aggregates(), reference=ref)[0]] == ["retire"]
    assert memory_operations(ws, "default", Aggregates(), reference=ref, judge_stale=False)[0] == []


def test_a_dream_that_read_no_session_proposes_nothing(demo: Path) -> None:
    ws = _ws(demo)
    result = run_dream(ws, Config(), DreamOptions(offline=True, task="no-such-task"))
    assert result.status == "nothing_new" and result.dream_id is None and result.operations == []
    assert not (demo / "dreams").is_dir() or list((demo / "dreams").iterdir()) == []


def test_a_task_that_matches_nothing_says_so_and_writes_no_dream(demo: Path) -> None:
    r = _run("--home", str(demo), "dream", "--offline", "--task", "no-such-task")
    assert r.exit_code == 0, r.output
    assert "warning: no finished session of playbook 'default' matched the selection (task no-such-task)" \
        in r.stderr
    assert not (demo / "dreams").is_dir() or list((demo / "dreams").iterdir()) == []


def test_a_missing_memory_store_is_a_usage_error(demo: Path) -> None:
    (demo / "memory" / "legal").mkdir()
    r = _run("--home", str(demo), "dream", "--offline", "--dry-run", "--memory-store", "nosuch")
    assert r.exit_code == 2, r.output
    assert r.stderr == "error: --memory-store 'nosuch': no such memory store (known: default, legal)\n"
    with pytest.raises(UsageError, match="no such memory store"):  # the engine checks it too
        run_dream(Workspace(root=demo, source="option"), Config(), DreamOptions(offline=True, memory_store="nosuch"))
    assert _run("--home", str(demo), "dream", "--offline", "--dry-run", "--memory-store", "legal").exit_code == 0
    # `default` may be missing: the memory tool makes it with its first note
    empty = Workspace(root=demo.parent / "empty", source="option").ensure_layout()
    assert not empty.memory_store("default").exists()
    assert run_dream(empty, Config(), DreamOptions(offline=True, all=True, dry_run=True)).status == "dry_run"
