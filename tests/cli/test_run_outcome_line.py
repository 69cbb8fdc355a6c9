"""`dreamcli run` with an outcome says how the evaluation ended on its closing line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from tests.support.outcomes import write_spec


def test_closing_line_shows_the_outcome(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    wd = tmp_path / "project" / "docs"
    wd.mkdir(parents=True)
    write_spec(tmp_path / "project" / "outcome.yaml", """
        name: summary
        criteria:
          - id: summary-written
            check: {type: contains, in: summary.md, value: "3 lines"}
        """)
    (tmp_path / "project" / "task.yaml").write_text(
        "name: count\nprompt: Count the lines.\nworkdir: docs\noutcome: outcome.yaml\ntools: [write]\n")
    fake_anthropic.expect(
        text_reply("3 lines."),
        tool_reply(tool_use("write", {"file_path": "summary.md", "content": "3 lines\n"}, id="toolu_w")),
        text_reply("Written."),
    )
    r = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "run", str(tmp_path / "project" / "task.yaml")])
    assert r.exit_code == 0, r.output
    last = [line for line in r.stderr.splitlines() if line.strip()][-1]
    assert "completed" in last and "outcome satisfied (1.00, 2 iterations)" in last
