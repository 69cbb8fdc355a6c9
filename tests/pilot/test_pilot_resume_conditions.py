"""A pilot resumes only trials run under the same conditions: the playbooks every arm places, the
task file, its outcome spec, its workdir's contents, the model and the agent's config. A changed
condition starts a new pilot (the old run stays, reported on its own) and stderr says which one."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dreamcli.config import load_config
from dreamcli.pilot.api import prepare
from dreamcli.pilot.plan import workdir_fingerprint
from dreamcli.testing import FakeAnthropic
from tests.pilot.helpers import DREAM, config, run_pilot_api, scripted_agent, seed_workspace, write_task
from tests.support.playbooks import write_playbook

EXTRA = "extra"


def pilot(ws: Any, *args: str) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), "pilot", *args],
                              env={"NO_COLOR": "1", "COLUMNS": "80", "DREAMCLI_ACTOR": "tester"})


def _extra(ws: Any, text: str, version: int) -> None:
    """A playbook scoped to the task: both arms place it."""
    write_playbook(ws, EXTRA, [("pb-extra001", "Hints", text)], version=version,
                   scope={"tasks": ["contract-review"]})


def _prepared(ws: Any, task: Path, trials: int = 1) -> Any:
    return prepare(ws, load_config(ws.config_path), [task], DREAM, trials=trials)


def test_a_changed_playbook_that_both_arms_place_starts_a_new_pilot(fake_anthropic: FakeAnthropic, ws,
                                                                    tmp_path) -> None:
    seed_workspace(ws)
    _extra(ws, "EXTRA-HINT: the answer is in section 9.2.", 1)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    args = [str(task), "--proposal", DREAM, "--trials", "2", "--yes", "--json"]
    first = pilot(ws, *args)
    assert first.exit_code == 0, first.stderr
    one = json.loads(first.stdout)
    again = pilot(ws, *args)  # nothing changed: resumed, nothing runs
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["resumed_trials"] == 4 and json.loads(again.stdout)["new_trials"] == 0
    assert "conditions changed" not in again.stderr
    _extra(ws, "Be concise.", 2)
    r = pilot(ws, *args)
    assert r.exit_code == 0, r.stderr
    assert "warning: conditions changed since the last run: playbook extra; not resuming" in r.stderr
    two = json.loads(r.stdout)
    assert two["pilot_id"] != one["pilot_id"] and two["plan"] != one["plan"]
    assert (two["resumed_trials"], two["new_trials"]) == (0, 4)
    runs = json.loads((ws.dreams_dir / DREAM / "pilot.json").read_text())["runs"]
    assert [r["pilot_id"] for r in runs] == [one["pilot_id"], two["pilot_id"]]  # the old run stays, on its own
    assert runs[0]["lift"] == one["lift"]
    journal = [json.loads(line) for line in (ws.dreams_dir / DREAM / "pilot-trials.jsonl").read_text().splitlines()]
    assert sorted(j["pilot_id"] for j in journal) == sorted([one["pilot_id"]] * 4 + [two["pilot_id"]] * 4)
    plans = ws.dreams_dir / DREAM / "pilot-plans.jsonl"
    assert stat.S_IMODE(plans.stat().st_mode) == 0o600
    assert {json.loads(line)["plan"] for line in plans.read_text().splitlines()} == {one["plan"], two["plan"]}


def test_the_workdir_counts_by_content_not_by_mtime(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    first = run_pilot_api(ws, task, trials=1)
    contract = tmp_path / "contract-review-work" / "contract.txt"
    os.utime(contract, ns=(1_000_000_000, 1_000_000_000))  # a checkout or copy: same files, new mtimes
    same = _prepared(ws, task)
    assert (same.pilot_id, same.resumed, same.warnings) == (first["pilot_id"], 2, [])
    contract.write_text("Section 9.2: either party may terminate with 90 days notice.\n")
    changed = _prepared(ws, task)
    assert changed.pilot_id != first["pilot_id"] and changed.resumed == 0
    assert changed.warnings == ["conditions changed since the last run: workdir contract-review; not resuming"]


def test_task_outcome_model_and_config_changes_are_named(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    task = write_task(tmp_path)
    spec = tmp_path / "contract-review-outcome.yaml"
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    first = run_pilot_api(ws, task, trials=1)
    task_text, spec_text = task.read_text(), spec.read_text()
    changes = [
        ("config limits.max_tokens", lambda: config(ws, "limits:\n  max_tokens: 4096\n")),
        ("", lambda: config(ws, "limits:\n  max_turns: 9\n")),  # the task's own max_turns wins: no change
        ("task file contract-review, max turns of contract-review",
         lambda: task.write_text(task_text.replace("max_turns: 3", "max_turns: 4"))),
        ("model of contract-review", lambda: config(ws, "models:\n  agent: claude-haiku-4-5\n")),
        ("task file contract-review", lambda: task.write_text(task_text.replace("List", "Name"))),
        ("outcome contract-review", lambda: spec.write_text(spec_text.replace("SOLVED", "DONE"))),
        ("playbook default", lambda: write_playbook(ws, "default", [("pb-live0001", "Tools", "Use pandoc.")],
                                                    version=2)),
    ]
    for name, change in changes:
        change()
        prep = _prepared(ws, task)
        if not name:
            assert (prep.pilot_id, prep.resumed, prep.warnings) == (first["pilot_id"], 2, [])
            ws.config_path.unlink()
            continue
        assert prep.resumed == 0 and prep.pilot_id != first["pilot_id"], name
        assert prep.warnings == [f"conditions changed since the last run: {name}; not resuming"]
        ws.config_path.unlink(missing_ok=True)  # back as it was: the first pilot resumes again
        task.write_text(task_text)
        spec.write_text(spec_text)
        write_playbook(ws, "default", [("pb-live0001", "Tools", "Use pandoc for docx.")], version=2)
        back = _prepared(ws, task)
        assert (back.pilot_id, back.resumed, back.warnings) == (first["pilot_id"], 2, []), name


def test_workdir_fingerprint(tmp_path) -> None:
    root = tmp_path / "w"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("one")
    (root / "big.bin").write_bytes(b"x" * 100)
    base = workdir_fingerprint(root)
    assert workdir_fingerprint(None) == "none" and base == workdir_fingerprint(root)
    os.utime(root / "sub" / "a.txt", ns=(5, 5))
    assert workdir_fingerprint(root) == base  # mtimes alone do not count
    (root / "sub" / "a.txt").write_text("two")  # same size, other content
    assert workdir_fingerprint(root) != base
    (root / "sub" / "a.txt").write_text("one")
    (root / "empty").mkdir()
    assert workdir_fingerprint(root) != base  # an empty directory is part of the copy
    (root / "empty").rmdir()
    (root / "link").symlink_to("sub/a.txt")
    linked = workdir_fingerprint(root)
    (root / "link").unlink()
    (root / "link").symlink_to("big.bin")
    assert workdir_fingerprint(root) not in (base, linked)  # a symlink counts by its target
    (root / "link").unlink()
    # past the budget a file counts by size, head and tail, not mtime (tests/pilot/test_workdir_fingerprint.py)
    small = workdir_fingerprint(root, budget=10)
    (root / "big.bin").write_bytes(b"y" * 100)
    os.utime(root / "big.bin", ns=(7, 7))
    frozen = workdir_fingerprint(root, budget=10)
    os.utime(root / "big.bin", ns=(8, 8))
    assert workdir_fingerprint(root, budget=10) == frozen != small
    assert workdir_fingerprint(root) != base
