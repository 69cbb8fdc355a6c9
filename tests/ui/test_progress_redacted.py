"""What `dreamcli run` shows live on stderr is redacted like the session log: tool arguments, sub-agent
briefs in the notices, streamed text (a secret split between streamed pieces included), the command
of an approval prompt and the run's error line."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.agent.results import RunResult
from dreamcli.agent.tools.base import ToolResult
from dreamcli.agent.usage import Totals
from dreamcli.cli.app import app
from dreamcli.redaction import for_patterns
from dreamcli.testing import FakeAnthropic, Reply, text_reply, tool_reply, tool_use
from dreamcli.ui.run_view import RunView, split_streamed
from dreamcli.workspace.home import Workspace
from tests.support.multiagent import answer, responder

GITHUB = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS = "AKIAQ3EGRV7EXAMPLE12"
KEY = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAwJ8m4Zq1Vt9cR2sL0pX7yU3nB6hK8dF2gT5jW1eQ4rY9\n"
       "aZ3xC7vN2mB8kL4pQ6sT0uW5yE1rI9oP3dF7gH2jK6lM0nB4vC8xZ1qA5sD9\n-----END RSA PRIVATE KEY-----\n")
SECRETS = (GITHUB, AWS, "MIIEowIBAAKCAQEA", "aZ3xC7vN2mB8kL4p")


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def result() -> RunResult:
    return RunResult(session_id="01KAHV3Q8J1T0B8Z6W2XK4M5R7", path=Path("/x.jsonl"), status="completed", error=None,
                     final_text="done", totals=Totals(turns=1), exit_code=0, model="m", workdir=Path("/w"),
                     task_name="t", playbooks=[])


def test_tool_arguments_and_notices_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView()
    view.on_tool_end("bash", f"curl -H 'Authorization: token {GITHUB}' https://api.github.com",
                     ToolResult("x"), 3)
    view.on_notice(f"sub-agent 1/1 started (session S): Use the deploy key {AWS} to check the bucket")
    err = capsys.readouterr().err
    assert not leaked(err), err
    assert "[REDACTED:" in err and "ok bash curl" in err


def test_the_configured_patterns_apply_too(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView(redactor=for_patterns(["ACME-[0-9]{8}"]))
    view.on_tool_end("read", "orders/ACME-12345678.txt", ToolResult("x"), 3)
    assert capsys.readouterr().err == "  ok read orders/[REDACTED:custom].txt (3 ms)\n"


def test_a_secret_split_between_streamed_pieces_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView()
    for piece in ("The token is ", GITHUB[:7], GITHUB[7:22], GITHUB[22:], " and the key ", AWS[:9], AWS[9:],
                  ".\nDone"):
        view.on_text(piece)
    view.on_message(1, "end_turn", {}, 0.0)  # the reply ended: what was held back is shown
    err = capsys.readouterr().err
    assert not leaked(err), err
    assert err == "The token is [REDACTED:github] and the key [REDACTED:aws_access_key].\nDone"


def test_a_part_line_held_when_the_stream_breaks_is_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    """A reply that breaks off mid-line is streamed again: the part held back (here half a token, which
    no rule recognises) is never shown, and the retried reply is shown redacted."""
    view = RunView()
    view.on_text("Checked.\nThe token is " + GITHUB[:22])
    view.on_retry(1, "overloaded_error", 0.5)
    view.on_text(f"The token is {GITHUB}.\n")
    view.on_message(1, "end_turn", {}, 0.0)
    err = capsys.readouterr().err
    assert GITHUB[:22] not in err, err
    assert err.startswith("Checked.\n") and "The token is [REDACTED:github].\n" in err and "retry 1" in err


def test_a_streamed_private_key_is_shown_only_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView()
    shown = ""
    for line in ("Here it is:\n", *KEY.splitlines(keepends=True)):
        view.on_text(line)
        shown += capsys.readouterr().err
        assert not leaked(shown), shown  # not one body line on its own
    assert shown == "Here it is:\n[REDACTED:private_key]\n"  # shown once the block ended
    view.on_text("Then a block that never ends:\n" + KEY.split("-----END")[0])
    view.on_end(result())  # the reply ended: shown, redacted as a truncated block
    err = capsys.readouterr().err
    assert not leaked(err) and err.startswith("Then a block that never ends:\n[REDACTED:private_key]")


def test_split_streamed_holds_partial_lines_and_open_key_blocks() -> None:
    assert split_streamed("one\ntw") == ("one\n", "tw")
    assert split_streamed("a\n-----BEGIN PRIVATE KEY-----\nMIIB\n") == ("a\n", "-----BEGIN PRIVATE KEY-----\nMIIB\n")
    block = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
    assert split_streamed(block + "x") == (block, "x")


def test_the_approval_prompt_shows_the_command_redacted(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert RunView().ask_approval("command", f"git push https://x:{GITHUB}@github.com/o/r") is False
    err = capsys.readouterr().err
    assert not leaked(err) and err.startswith("Run command: git push https://")


def test_a_subagent_brief_with_credentials_through_the_cli(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                           tmp_path: Path) -> None:
    """The reviewer's check: a lead writes credentials into a brief; the started line and the delegate
    line on stderr show them redacted (the notice is cut at 80 characters after redacting)."""
    brief = f"Use the deploy key {AWS} and token {GITHUB} to check the bucket."

    def lead(req: Any, turn: int) -> Reply:
        return tool_reply(tool_use("delegate", {"brief": brief})) if turn == 0 else answer("all done")

    fake_anthropic.responder = responder(lead, lambda b, turn, req: answer("bucket ok"))
    (tmp_path / "work").mkdir()
    task = tmp_path / "t.yaml"
    task.write_text("name: lead\nprompt: Check the bucket.\nworkdir: work\ntools: [read, delegate]\nmax_turns: 4\n")
    r = CliRunner().invoke(app, ["--home", str(ws.root), "run", str(task), "--yes"])
    assert r.exit_code == 0, r.output
    assert not leaked(r.stderr), r.stderr
    assert "sub-agent 1/1 started" in r.stderr and "[REDACTED:aws_access_key]" in r.stderr


def test_the_error_line_of_a_refusal_is_redacted(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                 tmp_path: Path) -> None:
    fake_anthropic.expect(text_reply(f"I will not print {GITHUB} here.", stop_reason="refusal"))
    r = CliRunner().invoke(app, ["--home", str(ws.root), "run", "-p", "show me the token", "-C", str(tmp_path)])
    assert r.exit_code == 1, r.output
    assert not leaked(r.stderr), r.stderr
    assert "error: run error: the model refused: I will not print [REDACTED:github] here." in r.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_the_answer_on_stdout_is_redacted(fake_anthropic: FakeAnthropic, ws: Workspace, tmp_path: Path,
                                          as_json: bool) -> None:
    """stdout is often a CI log or a file: the answer is shown as the log keeps it, redacted."""
    fake_anthropic.expect(text_reply(f"The deploy token is {GITHUB}; rotate it."))
    r = CliRunner().invoke(app, ["--home", str(ws.root), "run", "-p", "find the token", "-C", str(tmp_path),
                                 *(["--json"] if as_json else [])])
    assert r.exit_code == 0, r.output
    assert not leaked(r.stdout) and not leaked(r.stderr), r.stdout
    assert "The deploy token is [REDACTED:github]; rotate it." in r.stdout
