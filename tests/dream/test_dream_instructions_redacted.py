"""`dream --instructions` is written redacted (tester D, defect 4): the model was sent them redacted, yet
`dreams/<id>/dream.json`, its report and `--json` held them as typed. Built-in rules and the workspace's
`redaction.patterns` both apply, as for a `--reason`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession, written

pytestmark = pytest.mark.usefixtures("no_model")

GH_TOKEN = "ghp_" + "Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c"
CUSTOM = "ACME-20261187"


def test_instructions_are_redacted_in_everything_the_dream_writes(ws: Workspace) -> None:
    ws.config_path.write_text('redaction:\n  patterns: ["ACME-[0-9]{8}"]\n')
    for hour in range(3):
        s = RawSession(ws, hour, task="misc")
        s.call("bash", {"command": "make test"}, "make: *** No rule to make target 'test'.", error=True)
        s.say("There is no test target.")
        s.end()
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline", "--json", "--instructions",
                                 f"Focus on make; token {GH_TOKEN}, licence {CUSTOM}"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    dream = json.loads((ws.dreams_dir / out["dream_id"] / "dream.json").read_text())
    assert dream["instructions"] == "Focus on make; token [REDACTED:github], licence [REDACTED:custom]"
    for text in (written(ws), r.stdout, r.stderr):
        assert GH_TOKEN not in text and CUSTOM not in text
    assert "Focus on make; token [REDACTED:github]" in (ws.dreams_dir / out["dream_id"] / "report.md").read_text()
