"""A pilot resumes only trials run under the same tool permissions (`--allow`, `--approve-tools`) and
from the same memory store; a changed one starts a new pilot and stderr says so, with --quiet too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dreamcli.config import load_config
from dreamcli.pilot.api import prepare
from dreamcli.testing import FakeAnthropic
from tests.pilot.helpers import DREAM, run_pilot_api, scripted_agent, seed_workspace, write_task
from tests.support.playbooks import write_playbook

NOT_RESUMING = "conditions changed since the last run: {}; not resuming"


def pilot(ws: Any, *args: str) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), "pilot", *args],
                              env={"NO_COLOR": "1", "COLUMNS": "80", "DREAMCLI_ACTOR": "tester"})


def _ran(r: Any) -> tuple[str, int, int]:
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    return out["pilot_id"], out["resumed_trials"], out["new_trials"]


def test_changed_tool_permissions_start_a_new_pilot(fake_anthropic: FakeAnthropic, ws, tmp_path: Path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    args = [str(task), "--proposal", DREAM, "--trials", "1", "--yes", "--json"]
    first, _, _ = _ran(pilot(ws, *args, "--allow", "pytest*"))
    same = pilot(ws, *args, "--allow", "pytest*", "--allow", "pytest*")  # the same patterns: resumed
    assert _ran(same) == (first, 2, 0) and "conditions changed" not in same.stderr
    for extra, name in [([], "--allow"),  # each named against the run just before it
                        (["--allow", "pytest*", "--approve-tools"], "--allow, --approve-tools"),
                        (["--allow", "make*", "--approve-tools"], "--allow"),
                        (["--allow", "make*"], "--approve-tools")]:
        r = pilot(ws, *args, *extra)
        pilot_id, resumed, new = _ran(r)
        assert pilot_id != first and (resumed, new) == (0, 2), extra  # never the first pilot's trials
        assert f"warning: {NOT_RESUMING.format(name)}" in r.stderr, extra
    back = pilot(ws, *args, "--allow", "pytest*")  # as it was: the first pilot resumes
    assert _ran(back) == (first, 2, 0)


def test_a_changed_memory_store_starts_a_new_pilot_when_trials_use_memory(fake_anthropic: FakeAnthropic, ws,
                                                                          tmp_path: Path) -> None:
    seed_workspace(ws)
    notes = ws.memories_root("default")
    notes.mkdir(parents=True, exist_ok=True)
    (notes / "notes.md").write_text("The contract is in contract.txt.\n")
    task = write_task(tmp_path, tools="[read, write, memory]")
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    first = run_pilot_api(ws, task, trials=1)
    cfg = load_config(ws.config_path)
    same = prepare(ws, cfg, [task], DREAM, trials=1)  # the trials' own notes went to private copies
    assert (same.pilot_id, same.resumed, same.warnings) == (first["pilot_id"], 2, [])
    (notes / "notes.md").write_text("The contract is in contract.docx.\n")  # what every trial would start from
    changed = prepare(ws, cfg, [task], DREAM, trials=1)
    assert changed.pilot_id != first["pilot_id"] and changed.resumed == 0
    assert changed.warnings == [NOT_RESUMING.format("memory store default")]
    # a task without the memory tool never reads the store: its notes are no condition of it
    other = write_task(tmp_path / "no-memory")
    second = run_pilot_api(ws, other, trials=1)
    (notes / "more.md").write_text("Section 9.2 is the notice period.\n")
    again = prepare(ws, cfg, [other], DREAM, trials=1)
    assert (again.pilot_id, again.resumed, again.warnings) == (second["pilot_id"], 2, [])


def test_quiet_still_says_it_is_not_resuming(fake_anthropic: FakeAnthropic, ws, tmp_path: Path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    args = [str(task), "--proposal", DREAM, "--trials", "1", "--yes", "--quiet"]
    first = pilot(ws, *args)
    assert first.exit_code == 0, first.stderr
    assert "estimated cost" not in first.stderr and "[1/2]" not in first.stderr  # --quiet: no plan, no progress
    write_playbook(ws, "default", [("pb-live0001", "Tools", "Use pandoc.")], version=3)
    r = pilot(ws, *args)
    assert r.exit_code == 0, r.stderr
    assert r.stderr.splitlines()[0] == f"warning: {NOT_RESUMING.format('playbook default')}"
    assert "estimated cost" not in r.stderr and "[1/2]" not in r.stderr  # the rest of the plan stays hidden
