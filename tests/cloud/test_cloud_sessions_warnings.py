"""`cloud sessions pull` says each session it skips as a `warning:` line through the console's warning helper,
as it comes: once, above the live status line and wrapped under its text on an 80-column terminal, one plain
line on a pipe, `--json` too (before, the warning went into the status line, and on a pipe only `--json`'s
stdout had it); after 20 of them, one line counts the rest."""

from __future__ import annotations

import json
import re

import pytest

from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, data, requires_managed_agents
from tests.support.run import DREAMCLI, cli_env

pytestmark = [requires_managed_agents, pytest.mark.timeout(90)]

EVENTS = [{"type": "user.message", "content": [{"type": "text", "text": "hello"}]}]
BAD_TIME = "not a time at all, as a proxy in between wrote it"
SGR = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _sessions(server: FakeAnthropic, bad: int) -> list[str]:
    """One good session and `bad` ones whose created_at is no time; the bad ones' ids, oldest first."""
    d = data(server)
    d.add_session(events=list(EVENTS))
    ids = [d.add_session(events=list(EVENTS)) for _ in range(bad)]
    for sid in ids:
        d.sessions[sid]["created_at"] = BAD_TIME
    return ids


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "plain"])
def test_a_skipped_session_is_one_warning_line_on_a_pipe(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                         as_json: bool) -> None:
    [bad] = _sessions(fake_anthropic, 1)

    result = cli(ws, "cloud", "sessions", "pull", *(["--json"] if as_json else []))

    assert result.exit_code == 0, result.stderr
    [line] = _warnings(result.stderr)
    assert bad in line and "RFC 3339" in line, line
    if as_json:
        assert json.loads(result.stdout)["warnings"] == [line.removeprefix("warning: ")]


def test_past_20_skipped_sessions_one_line_counts_the_rest(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    _sessions(fake_anthropic, 23)

    result = cli(ws, "cloud", "sessions", "pull", "--json")

    assert result.exit_code == 0, result.stderr
    lines = _warnings(result.stderr)
    assert len(lines) == 21 and lines[-1] == "warning: … 3 more (--json lists them)", result.stderr
    assert len(json.loads(result.stdout)["warnings"]) == 23


def test_on_an_80_column_terminal_the_warning_is_said_once_wrapped_under_its_text(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    from tests.support.terminal import in_pty

    [bad] = _sessions(fake_anthropic, 1)

    text = in_pty([DREAMCLI, "--home", str(ws.root), "cloud", "sessions", "pull"], columns=80,
                  env=cli_env(fake_anthropic.url, ws.root))

    assert text.count(bad) == 1, text  # never in the status line, never said twice
    shown = [SGR.sub("", line).split("\r")[-1] for line in text.splitlines()]
    start = next(i for i, line in enumerate(shown) if line.startswith("warning: session "))
    said = [shown[start]] + [line for line in shown[start + 1:start + 4] if line.startswith(" " * 9)]
    assert len(said) > 1 and all(len(line) <= 80 and line == line.rstrip() for line in said), said
    words = " ".join(" ".join(said).split())
    assert bad in words and "is not an RFC 3339 time" in words, words
