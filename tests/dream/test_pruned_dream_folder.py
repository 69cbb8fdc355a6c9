"""A dream folder deleted by hand (`rm -rf dreams/<id>`, to prune dreams/) takes no decision with it: the
candidates of its entries nobody decided are proposed again, not held back as "rejected before" (operator
report: 11 patterns held as rejected though the audit trail held no rejection); a rejection the audit trail
recorded still holds its candidate back, and an approved entry stays live."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline


def _cli(home: Path, *args: str) -> Any:
    r = CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def _dream(home: Path, *args: str) -> dict[str, Any]:
    return json.loads(_cli(home, "dream", "--offline", "--json", *args).stdout)


def _adds(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for op in data["operations"] if op["op"] == "add" and op["target"] == "playbook"]


def test_a_deleted_pending_dream_has_its_patterns_proposed_again(demo: Path) -> None:
    first = _dream(demo)
    adds = _adds(first)
    assert len(adds) >= 8
    shutil.rmtree(demo / "dreams" / first["dream_id"])

    again = _dream(demo, "--all", "--dry-run")
    assert again["stats"]["not_proposed"] == {}  # neither "rejected before" nor "awaiting review"
    assert sorted(op["signature"] for op in _adds(again)) == sorted(op["signature"] for op in adds)
    assert "rejected before" not in _cli(demo, "dream", "--offline", "--all", "--dry-run").stderr


def test_decisions_the_audit_trail_recorded_outlive_the_dream_folder(demo: Path) -> None:
    first = _dream(demo)
    dream_id, adds = first["dream_id"], [op["entry_id"] for op in _adds(first)]
    approved, rejected, undecided = adds[:2], adds[2:5], adds[5:]
    _cli(demo, "playbooks", "approve", dream_id, *[x for i in approved for x in ("--entry", i)], "--yes")
    _cli(demo, "playbooks", "reject", dream_id, *[x for i in rejected for x in ("--entry", i)], "--reason", "no",
         "--yes")
    shutil.rmtree(demo / "dreams" / dream_id)

    again = _dream(demo, "--all", "--dry-run")
    assert again["stats"]["not_proposed"] == {"rejected_before": len(rejected)}
    assert len(_adds(again)) == len(undecided)  # proposed again, under new ids
    counted = {op["entry_id"] for op in again["operations"] if op["op"] == "counts"}
    assert set(approved) <= counted  # live: its counts are updated, never proposed twice
