"""`dreamcli run` end to end through the installed command against the fake Anthropic server."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dreamcli.testing import FakeAnthropic, Reply, error_reply, text_reply, tool_reply, tool_use
from tests.support.run import DREAMCLI, cli_env, invoke_run, of_type, run_cli, session_files, validate_log


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A task file next to its working directory."""
    root = tmp_path / "project"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "notes.txt").write_text("alpha\nbeta\ngamma\n")
    (root / "outcome.yaml").write_text(  # always satisfied, deterministic: the revision loop adds no model call
        "name: notes\ncriteria:\n  - id: within-budget\n    check: {type: max_turns, value: 1000}\n")
    (root / "task.yaml").write_text(
        "name: count-notes\n"
        "prompt: Count the lines of notes.txt and write summary.md.\n"
        "workdir: docs\n"
        "outcome: outcome.yaml\n"
        "tools: [bash, read, write]\n"
        "max_turns: 10\n"
        "tags: [demo, notes]\n"
    )
    return root


@pytest.mark.slow
def test_multi_turn_tool_session_end_to_end(fake_anthropic: FakeAnthropic, home: Path, project: Path) -> None:
    fake_anthropic.expect(
        tool_reply(tool_use("read", {"file_path": "notes.txt"}, id="toolu_read"),
                   tool_use("bash", {"command": "cat notes.txt | wc -l"}, id="toolu_bash"),
                   text="Let me look at the notes."),
        tool_reply(tool_use("write", {"file_path": "summary.md", "content": "# Notes\n3 lines\n"}, id="toolu_w")),
        text_reply("notes.txt has 3 lines; summary.md is written."),
    )
    proc = run_cli(["run", str(project / "task.yaml"), "--allow", "cat *", "--allow", "wc *"],
                   env=cli_env(fake_anthropic.url, home))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "notes.txt has 3 lines; summary.md is written."
    # live output on stderr: streamed text and one compact line per tool call
    assert "Let me look at the notes." in proc.stderr
    assert "ok read notes.txt" in proc.stderr and "ok bash cat notes.txt | wc -l" in proc.stderr
    assert "completed · 3 turns · 3 tool calls" in proc.stderr
    assert (project / "docs" / "summary.md").read_text() == "# Notes\n3 lines\n"

    reqs = fake_anthropic.requests
    assert [len(r.messages) for r in reqs] == [1, 3, 5]  # the full history every turn
    assert all(r.stream for r in reqs)
    assert reqs[0].tool_names() == ["bash", "read", "write"]
    results = {b["tool_use_id"]: b for b in reqs[1].messages[2]["content"]}
    assert results["toolu_read"]["content"] == "alpha\nbeta\ngamma\n"
    assert results["toolu_bash"]["content"].strip() == "3" and results["toolu_bash"]["is_error"] is False

    [log] = session_files(home)
    events = validate_log(log)
    start, end = events[0], events[-1]
    assert start["task"] == {"name": "count-notes", "prompt": "Count the lines of notes.txt and write summary.md.",
                             "file": str(project / "task.yaml"), "outcome": str(project / "outcome.yaml")}
    assert start["workdir"] == str((project / "docs").resolve())
    assert start["tags"] == ["demo", "notes"] and start["max_turns"] == 10 and start["source"] == "dreamcli"
    assert "auto_approved" not in start
    assert [e["role"] for e in of_type(events, "message")] == ["user", "assistant", "user", "assistant", "user",
                                                              "assistant"]
    tools = of_type(events, "tool")
    assert [(t["name"], t["error_kind"]) for t in tools] == [("read", None), ("bash", None), ("write", None)]
    assert tools[1]["exit_code"] == 0 and tools[1]["approval"] == "allowed"
    assert end["status"] == "completed"
    assert end["totals"]["turns"] == 3 and end["totals"]["tool_calls"] == 3 and end["totals"]["tool_errors"] == 0
    assert end["totals"]["cost_usd"] > 0


def test_refused_command_without_tty_goes_back_to_the_model(fake_anthropic: FakeAnthropic, home: Path,
                                                            tmp_path: Path) -> None:
    fake_anthropic.expect(
        tool_reply(tool_use("bash", {"command": "rm -rf build"}, id="toolu_rm")),
        text_reply("I was not allowed to delete build/."),
    )
    (tmp_path / "build").mkdir()
    proc = invoke_run(["-p", "clean up", "--workdir", str(tmp_path), "--allow", "ls *", "--json"], home)
    assert proc.exit_code == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "completed" and result["final_text"] == "I was not allowed to delete build/."
    assert (tmp_path / "build").is_dir()
    [block] = fake_anthropic.requests[1].messages[2]["content"]
    assert block["is_error"] is True and "refused" in block["content"] and "rm -rf build" in block["content"]
    events = validate_log(Path(result["path"]))
    [tool] = of_type(events, "tool")
    assert tool["error_kind"] == "refused" and tool["approval"] == "refused"
    assert events[-1]["totals"]["tool_errors"] == 1


def test_yes_approves_and_is_recorded_prompt_from_stdin(fake_anthropic: FakeAnthropic, home: Path,
                                                        tmp_path: Path) -> None:
    fake_anthropic.expect(
        tool_reply(tool_use("bash", {"command": "touch made-by-agent"})),
        text_reply("done"),
    )
    proc = invoke_run(["-p", "-", "-C", str(tmp_path), "--yes", "--quiet"], home, input="make a file\n")
    assert proc.exit_code == 0, proc.stderr
    assert proc.stdout == "done\n" and proc.stderr == ""
    assert (tmp_path / "made-by-agent").exists()
    assert fake_anthropic.requests[0].messages[0]["content"][0]["text"] == "make a file\n"
    events = validate_log(session_files(home)[0])
    assert events[0]["auto_approved"] is True and events[0]["task"]["name"] is None
    assert of_type(events, "tool")[0]["approval"] == "yes"


def test_turn_limit_ends_with_max_turns_and_exit_1(fake_anthropic: FakeAnthropic, home: Path, tmp_path: Path) -> None:
    fake_anthropic.expect(tool_reply(tool_use("read", {"file_path": "missing.txt"})))
    proc = invoke_run(["-p", "loop", "-C", str(tmp_path), "--max-turns", "1", "--json"], home)
    assert proc.exit_code == 1
    assert json.loads(proc.stdout)["status"] == "max_turns"
    assert "turn limit reached (1 turns)" in proc.stderr
    events = validate_log(session_files(home)[0])
    assert events[-1]["status"] == "max_turns" and of_type(events, "tool")[0]["error_kind"] == "not_found"


def test_model_failure_after_retries_is_exit_3(fake_anthropic: FakeAnthropic, home: Path, tmp_path: Path) -> None:
    home.mkdir()
    (home / "config.yaml").write_text("limits:\n  model_retries: 1\n")
    fake_anthropic.expect(error_reply(529, message="Overloaded"), error_reply(529, message="Overloaded"))
    proc = invoke_run(["-p", "hi", "-C", str(tmp_path)], home)
    assert proc.exit_code == 3, proc.stderr
    assert len(fake_anthropic.requests) == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: run error: model call (turn 1): HTTP 529")
    events = validate_log(session_files(home)[0])
    assert events[-1]["status"] == "error" and "529" in events[-1]["error"]
    assert "Traceback" not in proc.stderr


def test_no_credentials_is_exit_4_without_a_session(home: Path, tmp_path: Path) -> None:
    proc = run_cli(["run", "-p", "hi", "-C", str(tmp_path)], env=cli_env(None, home))
    assert proc.returncode == 4
    assert "ANTHROPIC_API_KEY" in proc.stderr and "ANTHROPIC_BASE_URL" in proc.stderr
    assert session_files(home) == []


def test_bad_usage_and_bad_task_file_are_exit_2(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "task.yaml"
    bad.write_text("name: x\nprompt: hi\ntools: [bash, teleport]\n")
    proc = run_cli(["run", str(bad)], env=cli_env("http://127.0.0.1:9", home))
    assert proc.returncode == 2
    assert f"{bad}:3: tools.1: unknown tool 'teleport'" in proc.stderr
    proc = run_cli(["run"], env=cli_env("http://127.0.0.1:9", home))
    assert proc.returncode == 2 and "give a task file or -p PROMPT" in proc.stderr
    usage = invoke_run(["-p", "hi", "--parallel", "2"], home)
    assert usage.exit_code == 2 and "--parallel runs task files" in usage.stderr


@pytest.mark.slow
def test_ctrl_c_leaves_a_valid_log_and_exits_130(fake_anthropic: FakeAnthropic, home: Path, tmp_path: Path) -> None:
    fake_anthropic.allow_leftovers = True
    fake_anthropic.expect(
        tool_reply(tool_use("bash", {"command": "echo working"})),
        Reply(content=[{"type": "text", "text": "never sent"}], latency=30),
    )
    proc = subprocess.Popen([DREAMCLI, "run", "-p", "work", "-C", str(tmp_path), "--yes"],
                            env=cli_env(fake_anthropic.url, home), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(fake_anthropic.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(fake_anthropic.requests) == 2, "the second model call never arrived"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted")
    events = validate_log(session_files(home)[0])
    end = events[-1]
    assert end["type"] == "session.end" and end["status"] == "interrupted"
    assert end["totals"]["turns"] == 1 and end["totals"]["tool_calls"] == 1
    from dreamcli.sessions.summary import summarize

    assert summarize(session_files(home)[0]).status == "interrupted"
