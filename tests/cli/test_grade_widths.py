"""Issue 20: `dreamcli grade` at 60, 80 and 200 columns (COLUMNS, no terminal) never cuts a session id
or a criterion id, and no line is wider than the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from tests.support.paths import REPO

SPEC = REPO / "sample_outcomes" / "contract-review.yaml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("grade")
    assert CliRunner().invoke(app, ["init", str(root / "demo"), "--with-samples"]).exit_code == 0
    return root / "demo" / ".dreamcli"


def _grade(home: Path, columns: int, *extra: str) -> tuple[int, str]:
    args = ["--home", str(home), "grade", "--task", "contract-review", "--outcome", str(SPEC), "--checks-only",
            "--last", "3", *extra]
    r = CliRunner().invoke(app, args, env={"COLUMNS": str(columns)})
    return r.exit_code, r.stdout


@pytest.mark.parametrize("columns", [60, 80, 200])
def test_grade_never_cuts_ids_or_words(demo: Path, columns: int) -> None:
    code, data = _grade(demo, 200, "--json")
    results = json.loads(data)["results"]
    code_text, text = _grade(demo, columns)
    assert code_text == code and results
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= columns for line in lines), [ln for ln in lines if len(ln.rstrip()) > columns]
    words = set(re.findall(r"[^\s,()]+", text))
    for res in results:
        assert res["session_id"] in words
        for crit in res["criteria"]:
            if not crit["passed"]:
                assert crit["id"] in words, (crit["id"], text)
    assert "…" not in text
