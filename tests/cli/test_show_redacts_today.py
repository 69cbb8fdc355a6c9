"""`sessions show` in text, --json and --html redacts with today's rules: a pattern added to config.yaml after
the log was written (a client's name) is kept out of a page a reviewer shares, as the review's transcript pages
and the exports keep it out (docs/session-log.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app

SID = "01M3VA64YJ29NCR4EKAZ1GV2VP"  # a sample contract review that names the client three times
CLIENT = "Larkspur Retail"


@pytest.mark.parametrize("how", [[], ["--json"], ["--html", "-"]], ids=["text", "json", "html"])
def test_a_pattern_added_since_the_log_was_written_is_redacted(demo: Path, how: list[str]) -> None:
    show = ["--home", str(demo), "sessions", "show", SID, *how]
    before = CliRunner().invoke(app, show)
    assert before.exit_code == 0 and CLIENT in before.stdout  # the sample names it: the test can fail
    with (demo / "config.yaml").open("a") as f:
        f.write(f'\nredaction:\n  patterns: ["{CLIENT}"]\n')
    after = CliRunner().invoke(app, show)
    assert after.exit_code == 0, after.output
    assert CLIENT not in after.stdout and "REDACTED" in after.stdout
