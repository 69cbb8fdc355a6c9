"""The outcome spec's own text (description, criteria, labelled examples) reaches the grader model
redacted, with the grader's redactor (built-in rules and the workspace's `redaction.patterns`)."""

from __future__ import annotations

import json
from pathlib import Path

from dreamcli.config import Config, RedactionConfig
from dreamcli.outcomes.grading import GradeOptions, Grader, grade_path
from dreamcli.outcomes.spec import load_spec
from dreamcli.sessions.paths import find_session
from dreamcli.testing import FakeAnthropic
from tests.support.outcomes import make_session, verdict_reply, workspace, write_spec

GH_TOKEN = "ghp_" + "R4nd0mT0k3nV4lu3Xy12Ab34Cd56Ef78Gh90"
AWS_KEY = "AKIA" + "Q7ZPL3M4N5B6C7D8"
ACME = "ACME-123456"  # only the workspace pattern knows it

LEAKY_SPEC = f"""
name: leaky
description: "deploy with {GH_TOKEN}, ticket {ACME}"
criteria:
  - id: judged
    description: "uses {AWS_KEY} correctly"
examples:
  - label: good
    output: "used the key from the vault"
  - label: bad
    output: "token {GH_TOKEN}"
    why: "leaks password=hunter2Xq9zLw"
"""


def test_rubric_is_redacted_before_the_grader_sees_it(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    spec = load_spec(write_spec(tmp_path / "spec.yaml", LEAKY_SPEC))
    sid = make_session(ws, answer="Done.")
    fake_anthropic.expect(verdict_reply(judged=True))
    grader = Grader(ws, Config(redaction=RedactionConfig(patterns=["ACME-[0-9]{6}"])), GradeOptions())
    res = grade_path(grader, find_session(ws, sid), spec)
    assert res.result == "satisfied", res.explanation
    [req] = fake_anthropic.requests
    sent = json.dumps(req.body)
    for secret in (GH_TOKEN, AWS_KEY, ACME, "hunter2Xq9zLw"):
        assert secret not in sent, secret
    system = req.system_text
    assert "deploy with [REDACTED:github]" in system and "uses [REDACTED:aws_access_key] correctly" in system
    assert "[REDACTED:custom]" in system and 'label="bad"' in system and "password=[REDACTED" in system
