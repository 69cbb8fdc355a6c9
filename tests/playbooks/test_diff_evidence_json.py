"""`playbooks diff` shows three excerpts per entry and says "… N more (--json shows them)": the JSON must then
have them all (it had the same three)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app

pytestmark = pytest.mark.usefixtures("no_model")


def run(*args: str) -> str:
    r = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def test_json_carries_the_evidence_the_terminal_leaves_out(demo: Path) -> None:
    run("--home", str(demo), "dream", "--offline")
    ops = [op for d in json.loads(run("--home", str(demo), "playbooks", "diff", "--json"))["dreams"]
           for op in d["operations"]]
    assert all(len(op["evidence"]) == op["evidence_total"] for op in ops)
    over = [op for op in ops if op["evidence_total"] > 3]
    assert over  # the samples have entries with four excerpts: the test can fail
    hidden = [int(n) for n in re.findall(r"… (\d+) more \(--json shows them\)",
                                        run("--home", str(demo), "playbooks", "diff"))]
    assert sorted(hidden) == sorted(op["evidence_total"] - 3 for op in over)
