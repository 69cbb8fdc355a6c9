"""`sessions show` of a lead on a pipe or in a file prints its sub-agents' tree a whole line at a time, as
the rest of the transcript is (docs/cli.md): Rich's tree cropped each line to `COLUMNS`, so a brief or an
answer lost its end with no mark of the cut (`… failed at 'unit tests': FAIL s`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app


@pytest.mark.parametrize("columns", ["80", "40"])
def test_the_tree_keeps_every_line_whole_off_a_terminal(tmp_path: Path, columns: str) -> None:
    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["--home", str(ws), "init", "--with-samples"]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["--home", str(ws), "sessions", "list", "--json"]).stdout)["sessions"]
    leads = [s["session_id"] for s in listed
             if any(c.get("parent_session_id") == s["session_id"] for c in listed)]
    assert leads  # the samples hold a lead with sub-agents (build-log triage)
    shown = runner.invoke(app, ["--home", str(ws), "sessions", "show", leads[0], "--json"])
    kids = json.loads(shown.stdout)["children"]
    assert len(kids) >= 2 and any(len(k["final_text"]) > 100 for k in kids)

    text = runner.invoke(app, ["--home", str(ws), "sessions", "show", leads[0]],
                         env={"COLUMNS": columns, "NO_COLOR": "1"}).stdout
    tree = text[text.index(f"sub-agents ({len(kids)})"):].splitlines()
    for kid in kids[:-1]:
        assert any(line.startswith(f"├── {kid['session_id']}  completed") for line in tree), tree
        assert f"│   └── answer {kid['final_text']}" in tree, tree  # whole, however long
    last = kids[-1]
    assert any(line.startswith(f"└── {last['session_id']}  completed") for line in tree), tree
    assert f"    ├── brief {last['brief']}" in tree and f"    └── answer {last['final_text']}" in tree, tree
    assert all(line == line.rstrip() for line in tree)
