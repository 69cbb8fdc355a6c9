"""A tool name the model sent is redacted wherever it is shown or sent again (tester D, defect 6), as its input
already was: the name of an unknown tool is any text the model wrote. The session log redacted it; the live
line on stderr and the history replayed to the model did not."""

from __future__ import annotations

import json
from pathlib import Path

from dreamcli.agent.conversation import echo_content
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from tests.support.run import invoke_run

ANT_KEY = "sk-ant-api03-" + "Tn4Qz8Lp2Wx6Rv0Yb3Hk7Jm5Fs9Dg1Ce"
AWS_KEY = "AKIA" + "N7QX2ZL4PW8RT3VY"


def test_an_unknown_tool_named_with_a_secret_is_redacted_on_stderr_and_to_the_model(
        fake_anthropic: FakeAnthropic, home: Path, tmp_path: Path) -> None:
    fake_anthropic.expect(tool_reply(tool_use(ANT_KEY, {"x": AWS_KEY})), text_reply("ok"))
    r = invoke_run(["-p", "go", "-C", str(tmp_path), "--no-playbooks", "--yes"], home)
    assert r.exit_code == 0, r.stderr
    assert ANT_KEY not in r.stderr and ANT_KEY not in r.stdout
    assert "[REDACTED:anthropic]" in r.stderr  # the failed call's line still names it
    replayed = fake_anthropic.requests[1].messages
    assert ANT_KEY not in json.dumps(replayed) and AWS_KEY not in json.dumps(replayed)
    [call] = [b for m in replayed if m["role"] == "assistant" for b in m["content"] if b["type"] == "tool_use"]
    # a name the API accepts ([A-Za-z0-9_-]): a marker there would make the next request fail
    assert call["name"] == "redacted_tool_name" and call["input"] == {"x": "[REDACTED:aws_access_key]"}


def test_the_replayed_turn_takes_the_logged_name() -> None:
    sent = [{"type": "tool_use", "id": "toolu_1", "name": ANT_KEY, "input": {}},
            {"type": "tool_use", "id": "toolu_2", "name": "bash", "input": {"command": "ls"}}]
    logged = [{"type": "tool_use", "id": "toolu_1", "name": "[REDACTED:anthropic]", "input": {}},
              {"type": "tool_use", "id": "toolu_2", "input": {"command": "ls"}}]  # no name logged: the sent one
    assert [b["name"] for b in echo_content(sent, logged)] == ["redacted_tool_name", "bash"]
