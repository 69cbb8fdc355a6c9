"""SIGTERM and SIGHUP stop `dreamcli run` as Ctrl-C does: the commands the agent started (the
shell's process group) are stopped, session.end says `interrupted`, and the exit code is 128 + the
signal (docs/reliability.md, "Signals")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dreamcli.agent import RunOptions, prompt_spec, run_agent
from dreamcli.config import Config
from dreamcli.errors import Interrupted
from dreamcli.sessions.writer import SessionWriter
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.run import DREAMCLI, cli_env, session_files, validate_log


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state != "Z"  # a zombie (no init reaping it in a container) has stopped


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_the_commands_and_ends_the_log_interrupted(
    fake_anthropic: FakeAnthropic, tmp_path: Path, signum: int
) -> None:
    home, wd = tmp_path / "home", tmp_path / "wd"
    wd.mkdir()
    fake_anthropic.allow_leftovers = True
    command = "sh -c 'echo $$ > sleeper.pid; exec sleep 300'"
    fake_anthropic.expect(tool_reply(tool_use("bash", {"command": command})), text_reply("done"))
    proc = subprocess.Popen([DREAMCLI, "--home", str(home), "run", "-p", "wait", "-C", str(wd), "--yes"],
                            env=cli_env(fake_anthropic.url, home), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid_file = wd / "sleeper.pid"
    sleeper = 0
    try:
        for _ in range(300):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            time.sleep(0.05)
        sleeper = int(pid_file.read_text())
        time.sleep(0.2)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 128 + signum, err
        for _ in range(40):
            if not alive(sleeper):
                break
            time.sleep(0.05)
        assert not alive(sleeper), "the agent's command outlived dreamcli"
        [log] = session_files(home)
        end = validate_log(log)[-1]
        assert end["type"] == "session.end" and end["status"] == "interrupted"
        assert signal.Signals(signum).name in end["error"]
        assert signal.Signals(signum).name in err.strip().splitlines()[-1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if sleeper and alive(sleeper):
            os.kill(sleeper, signal.SIGKILL)


def test_sigterm_stops_a_parallel_batch_with_exit_143(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    home, wd = tmp_path / "home", tmp_path / "wd"
    wd.mkdir()
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(f"name: {name}\nprompt: wait\nworkdir: wd\n")
    fake_anthropic.responder = lambda req: (
        tool_reply(tool_use("bash", {"command": "sleep 300 & echo $! >> sleepers.pid; wait"}))
        if len(req.messages) == 1 else text_reply("ok"))
    proc = subprocess.Popen([DREAMCLI, "--home", str(home), "run", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"),
                             "--parallel", "2", "--yes"], env=cli_env(fake_anthropic.url, home),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = wd / "sleepers.pid"
    try:
        for _ in range(300):
            if pids.exists() and len(pids.read_text().split()) == 2:
                break
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 143, err
        sleepers = [int(p) for p in pids.read_text().split()]
        time.sleep(0.5)
        assert not any(alive(pid) for pid in sleepers), "the agents' commands outlived dreamcli"
        ends = [validate_log(log)[-1] for log in session_files(home)]
        assert len(ends) == 2 and {e["status"] for e in ends} == {"interrupted"}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_signal_before_the_end_line_is_written_ends_the_log_interrupted(
        fake_anthropic: FakeAnthropic, bare_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signal inside `writer.end` but before the session.end line reached the file: the log is not whole, so
    the run must not say it is (it ends the log `interrupted`, and says nothing of an upload it has not)."""
    fake_anthropic.expect(text_reply("done"))
    real_emit, cut = SessionWriter._emit, []

    def emit(self: SessionWriter, fd: int, line: bytes) -> None:
        if b'"session.end"' in line and not cut:
            cut.append(line)
            raise KeyboardInterrupt  # what the SIGTERM handler raises, the line not written yet
        real_emit(self, fd, line)

    monkeypatch.setattr(SessionWriter, "_emit", emit)
    wd = tmp_path / "wd"
    wd.mkdir()
    with pytest.raises(Interrupted) as caught:
        run_agent(bare_ws, Config(), prompt_spec("say done"), RunOptions(workdir=wd, use_playbooks=False))
    result = caught.value.result  # type: ignore[attr-defined]
    assert result.status == "interrupted" and caught.value.exit_code == 130
    assert "uploading" not in str(caught.value) and "complete" not in str(caught.value)
    events = [json.loads(line) for line in Path(result.path).read_text().splitlines()]
    assert [e["type"] for e in events][-1] == "session.end" and events[-1]["status"] == "interrupted"
