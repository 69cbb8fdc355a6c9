"""The live view of `dreamcli run` on stderr: streamed text, compact tool lines, quiet mode, the
approval prompt."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from dreamcli.agent.results import RunResult, StartInfo
from dreamcli.agent.tools.base import ToolResult
from dreamcli.agent.usage import Totals
from dreamcli.ui.run_view import RunView


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


def result(status: str = "completed") -> RunResult:
    totals = Totals(turns=3, input_tokens=12_000, output_tokens=500, cost_usd=0.0412, tool_calls=4, tool_errors=1,
                    duration_ms=2500)
    return RunResult(session_id="01KAHV3Q8J1T0B8Z6W2XK4M5R7", path=Path("/x.jsonl"), status=status, error=None,
                     final_text="done", totals=totals, exit_code=0, model="m", workdir=Path("/w"), task_name="t",
                     playbooks=[])


def test_live_output(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView()
    view.on_start(StartInfo(session_id="01KAHV3Q8J1T0B8Z6W2XK4M5R7", path=Path("/x"), model="claude-sonnet-5-5",
                            workdir=Path("/w"), task_name="t", tools=["bash"], max_turns=5, warnings=["odd"],
                            playbooks=[{"playbook": "legal", "version": 3, "entry_ids": ["pb-aaaaaa11"]}]))
    view.on_text("Reading ")
    view.on_text("the file")
    view.on_tool_end("read", "contracts/msa.docx", ToolResult("x"), 3.2)
    view.on_tool_end("bash", "pytest -q " + "x" * 100, ToolResult("boom", is_error=True, exit_code=2,
                                                                   error_kind="exit_nonzero"), 1500)
    view.on_tool_end("write", "out.md", ToolResult.error("refused", "refused"), 0.1)
    view.on_retry(1, "overloaded_error", 0.5)
    view.on_end(result())
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "warning: odd"
    assert err[1] == "> session 01KAHV3Q8J1T0B8Z6W2XK4M5R7 · claude-sonnet-5-5 · /w · playbooks: legal v3 (1 entry)"
    assert err[2] == "Reading the file"  # streamed text, then a newline before the tool line
    assert err[3] == "  ok read contracts/msa.docx (3 ms)"
    assert err[4].startswith("  x bash pytest -q xxx") and err[4].endswith("…  exit 2 (1.5 s)")
    assert err[5] == "  x write out.md  refused (0 ms)"
    assert err[6] == "retry: response broke off (overloaded_error); retry 1 in 0.5s"
    assert err[7] == ("completed · 3 turns · 4 tool calls (1 error) · 12.5k tokens · $0.0412 · 2.5 s · "
                      "session 01KAHV3Q8J1T0B8Z6W2XK4M5R7")
    assert view.streamed


def test_quiet_shows_only_warnings_and_retries(capsys: pytest.CaptureFixture[str]) -> None:
    view = RunView(quiet=True)
    view.on_text("hello")
    view.on_tool_end("read", "a", ToolResult("x"), 1)
    view.on_notice("continuing")
    view.on_retry(1, "overloaded_error", 0.5)
    view.on_end(result())
    assert capsys.readouterr().err == "retry: response broke off (overloaded_error); retry 1 in 0.5s\n"
    assert not view.streamed


@pytest.mark.parametrize(("answer", "approved"), [("y\n", True), ("yes\n", True), ("\n", False), ("n\n", False),
                                                 ("", False), ("a\n", "always"), ("w\n", "workspace"),
                                                 ("workspace\n", "workspace")])
def test_approval_prompt(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answer: str,
                         approved: bool) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    assert RunView().ask_approval("command", "rm -rf build") == approved
    # Ctrl-D (no answer at all) ends the prompt's line
    assert capsys.readouterr().err == ("Run command: rm -rf build\n  allow? [y]es, [N]o, [a]lways 'rm *' this session, "
                                       "[w] 'rm *' in this workspace: " + ("\n" if not answer else ""))


def test_a_silent_model_call_says_it_is_waiting(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 20: progress while a slow model call says nothing (a line now and then without a terminal)."""
    import time

    view = RunView(wait_after_s=0.05)
    view.waiting.every_s = 10
    view._model_call()
    time.sleep(0.3)
    view.on_text("Done.\n")
    time.sleep(0.1)
    view.waiting.close()
    out = capsys.readouterr().err
    assert out.startswith("waiting for the model (0s so far)\n") and out.endswith("Done.\n")
    assert out.count("waiting") == 1


def test_quiet_never_says_waiting(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    view = RunView(quiet=True, wait_after_s=0.01)
    view._model_call()
    time.sleep(0.1)
    assert capsys.readouterr().err == ""


def test_an_upload_to_the_session_store_says_so_then_the_model_wait_resumes(capsys: pytest.CaptureFixture[str]) -> None:
    import time

    view = RunView(wait_after_s=0.05)
    view.waiting.every_s = 10
    view._model_call()  # a tool's result goes back to the model next...
    view.on_store_wait(True)  # ...once its line is uploaded
    time.sleep(0.3)
    view.on_store_wait(False)
    time.sleep(0.3)
    view.on_text("Done.\n")
    view.on_store_wait(True)  # the seal, after the answer: nothing was counting
    view.on_store_wait(False)
    time.sleep(0.2)
    view.waiting.close()
    # what it says, in order; a loaded machine may repeat a line or count a second more (CI saw
    # "waiting for the model (15s so far)" once before the expected line, under heavy load)
    said = [re.sub(r" \(\d+s so far\)$", "", line) for line in capsys.readouterr().err.splitlines()]
    assert [line for i, line in enumerate(said) if i == 0 or line != said[i - 1]] == [
        "waiting for the session store", "waiting for the model", "Done."]
