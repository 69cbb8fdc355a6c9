"""Ctrl-C, SIGTERM and SIGHUP end every command alike, from the first instruction of the entry point on:
one line on stderr (`error: interrupted`, `error: interrupted by SIGTERM`), exit 130 or 128 + the signal,
never a traceback, also while the imports run and the options are parsed; a command the signal stops
mid-work cleans up as on Ctrl-C (docs/architecture.md, "Exit codes"). Real signals to the installed
`dreamcli`, and in-process checks of the root command."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.root import DreamGroup, build_app
from dreamcli.errors import Interrupted
from dreamcli.interrupts import Terminated, signals_as_interrupt, stop_line
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock
from tests.support.midwork import start_held, wait_held
from tests.support.run import DREAMCLI, cli_env

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the process table in /proc")

LINES = {signal.SIGINT: "error: interrupted\n", signal.SIGTERM: "error: interrupted by SIGTERM\n",
         signal.SIGHUP: "error: interrupted by SIGHUP\n"}


def _takes_sigterm(pid: int) -> bool:
    """Whether process `pid` has a handler for SIGTERM: the entry point's first instruction ran."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    found = re.search(r"^SigCgt:\s*([0-9a-fA-F]+)$", status, re.M)
    return bool(found and int(found[1], 16) & (1 << (signal.SIGTERM - 1)))


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                    kids.append(int(entry))
    return kids


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """The installed `dreamcli`, SIGINT at its default as in a terminal."""
    return subprocess.Popen([DREAMCLI, *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _stop(proc: subprocess.Popen[str], signum: int) -> tuple[int, str, str]:
    try:
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


# --- from the first instruction: imports, options, the command's start ---------------------------

@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4, 0.8])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["INT", "TERM", "HUP"])
def test_a_signal_from_the_first_instruction_on_ends_in_one_line(ws: Workspace, no_model: None, signum: int,
                                                                 delay: float) -> None:
    """The signal lands `delay` seconds after the entry point took SIGTERM: while Typer, Rich and pydantic
    are imported (a traceback and a death by the signal before), while the options are parsed (exit 130
    and nothing said), or once the dream waits for the lock this test holds."""
    with workspace_lock(ws, "dream"):
        proc = _start(["--home", str(ws.root), "dream", "--offline", "--wait", "-1", "--json"],
                      cli_env(None, ws.root))
        deadline = time.monotonic() + 30
        while not _takes_sigterm(proc.pid):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                _, err = proc.communicate()
                pytest.fail(f"the entry point never took SIGTERM: {err[-600:]}")
            time.sleep(0.001)
        time.sleep(delay)
        code, out, err = _stop(proc, signum)
    if err.startswith("thread '<unnamed>' panicked at"):  # pydantic-core's Rust panic hook wrote first, itself
        err = err[err.rindex("\nerror: ") + 1:] if "\nerror: " in err else err
    assert (code, out, err) == (128 + signum, "", LINES[signum])


# --- the root command: a stop `invoke` did not see, a stop the work turned into its own error ---------

def test_ctrl_c_while_the_options_are_parsed_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer ends a KeyboardInterrupt raised outside the command (parsing the root's options) with a
    silent exit 130: the root says why, as for one inside the command."""
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(DreamGroup, "parse_args", interrupted)
    r = CliRunner().invoke(build_app("sessions", "list"), ["sessions", "list"])
    assert (r.exit_code, r.stdout, r.stderr) == (130, "", "error: interrupted\n")


def test_sigterm_while_the_options_are_parsed_exits_143(monkeypatch: pytest.MonkeyPatch) -> None:
    def terminated(*_args: object, **_kwargs: object) -> None:
        raise Terminated(signal.SIGTERM)

    monkeypatch.setattr(DreamGroup, "parse_args", terminated)
    with signals_as_interrupt() as caught:
        caught.signum = signal.SIGTERM  # what the handler records before it raises
        r = CliRunner().invoke(build_app("sessions", "list"), ["sessions", "list"])
    assert (r.exit_code, r.stdout, r.stderr) == (143, "", "error: interrupted by SIGTERM\n")


@pytest.mark.parametrize("stop", [Terminated(signal.SIGTERM), Terminated(signal.SIGHUP), KeyboardInterrupt()],
                         ids=["TERM", "HUP", "INT"])
def test_a_signal_inside_any_command_is_one_line_and_its_code(ws: Workspace, monkeypatch: pytest.MonkeyPatch,
                                                              stop: KeyboardInterrupt) -> None:
    from dreamcli.cli import sessions

    def stopped(*_args: object, **_kwargs: object) -> None:
        raise stop

    monkeypatch.setattr(sessions, "open_workspace", stopped)  # where the command's work starts
    r = CliRunner().invoke(build_app("sessions", "list"), ["--home", str(ws.root), "sessions", "list"])
    signum = getattr(stop, "signum", signal.SIGINT)
    assert (r.exit_code, r.stdout, r.stderr) == (128 + signum, "", LINES[signum])


def test_an_interrupted_error_of_the_work_names_the_signal_and_exits_128_plus_it(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work that turns the KeyboardInterrupt into its own `Interrupted` (grade: "grades finished so far are
    stored") still exits 143 when SIGTERM stopped it, saying so before what it kept; 130 on Ctrl-C."""
    from dreamcli.cli import sessions

    def stopped(*_args: object, **_kwargs: object) -> None:
        raise Interrupted("interrupted: grades finished so far are stored")

    monkeypatch.setattr(sessions, "open_workspace", stopped)
    args = ["--home", str(ws.root), "sessions", "list"]
    with signals_as_interrupt() as caught:
        caught.signum = signal.SIGTERM
        r = CliRunner().invoke(build_app("sessions", "list"), args)
    assert (r.exit_code, r.stderr) == (143, "error: interrupted by SIGTERM: grades finished so far are stored\n")
    r = CliRunner().invoke(build_app("sessions", "list"), args)  # no signal: Ctrl-C's code
    assert (r.exit_code, r.stderr) == (130, "error: interrupted: grades finished so far are stored\n")


def test_a_pool_workers_terminated_keeps_its_signal() -> None:
    """A forked worker inherits the handler (SIGHUP reaches the terminal's whole process group): the
    Terminated it raises comes back pickled, and still says which signal (it came back as a string)."""
    e = pickle.loads(pickle.dumps(Terminated(signal.SIGHUP)))
    assert isinstance(e, Terminated) and e.signum == signal.SIGHUP
    assert stop_line(e) == ("interrupted by SIGHUP", 129)


# --- mid-work: the same cleanup as Ctrl-C ------------------------------------------------------------
# `dreamcli` held at a known point of its work (tests/support/midwork.py: `main` as the console script
# calls it), so the signal lands mid-work however slow the machine, never after the work ended.

def _signal_held_at_work(target: str, args: list[str], env: dict[str, str], signum: int,
                         ready: Path) -> tuple[int, str, str, int]:
    """Start the command held once `target` returned (tests/support/midwork.py): its pool runs, its work is
    under way and far from done; send `signum` to it alone there; (exit code, stdout, stderr, its pid)."""
    proc = start_held(target, ready, args, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_held(proc, ready)
    if not _children(proc.pid):  # the pool's workers: the signal must find them running
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"held at {target} with no worker pool: {err[-600:]}")
    code, out, err = _stop(proc, signum)
    return code, out, err, proc.pid


@pytest.mark.slow
def test_sigterm_mid_dream_cleans_up_as_ctrl_c_and_exits_143(tmp_path: Path, ws: Workspace, no_model: None) -> None:
    from dreamcli.testing.synthetic import GenConfig, generate

    generate(ws, GenConfig(sessions=60, seed=11, start=datetime(2026, 10, 1, tzinfo=UTC)))
    env = cli_env(None, ws.root)
    args = ["--home", str(ws.root), "dream", "--offline", "--all", "--json"]
    ready = tmp_path / "scanning"  # held as the scan's first chunk is in, the pool still at work
    code, out, err, pid = _signal_held_at_work("dreamcli.dream.executors:_in_order", [*args, "--workers", "2"], env,
                                               signal.SIGTERM, ready)
    assert (code, err) == (143, LINES[signal.SIGTERM])
    stopped = json.loads(out)  # --json: the dream's document says how it ended, as `run --json` does
    assert (stopped["status"], stopped["error"], stopped["exit_code"]) == ("error", "interrupted by SIGTERM", 143)
    assert list(ws.dreams_dir.iterdir()) == []  # no dream, no temp dir
    assert not (ws.state_dir / "dream").exists() or not any((ws.state_dir / "dream").rglob("*.json"))
    assert not (ws.state_dir / "live" / str(pid)).exists()  # the command's own cleanup ran (kill left it)
    assert _children(pid) == []
    again = subprocess.run([DREAMCLI, *args], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr  # no lock, no journal left behind
    assert json.loads(again.stdout)["inputs"]["sessions"] == 60


@pytest.mark.slow
def test_sigterm_mid_import_cleans_up_as_ctrl_c_and_exits_143(tmp_path: Path, ws: Workspace) -> None:
    from dreamcli.testing.transcripts import claude_transcript, utc

    src = tmp_path / "projects"
    for i in range(160):
        sid = f"{i:04d}-aaaa"
        claude_transcript(src / f"-p{i % 4}" / f"{sid}.jsonl", session_id=sid,
                          start=utc(2026, 4, 1 + i % 27, 9, i % 60), seed=i, rounds=12, payload=2000)
    env = cli_env(None, ws.root)
    args = ["--home", str(ws.root), "sessions", "import", "claude-code", str(src), "--json"]
    ready = tmp_path / "converting"  # held as the first transcript's session is staged, the pool still at work
    code, out, err, pid = _signal_held_at_work("dreamcli.sessions.importers.runner:_convert_all",
                                               [*args, "--workers", "2"], env, signal.SIGTERM, ready)
    assert (code, out, err) == (143, "", LINES[signal.SIGTERM])
    assert not (ws.state_dir / "import-staging").exists()  # the staged sessions went with the signal
    assert not (ws.state_dir / "live" / str(pid)).exists()
    assert list(ws.sessions_dir.rglob("*.jsonl")) == []  # stopped before its first batch went in
    again = subprocess.run([DREAMCLI, *args], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    done = json.loads(again.stdout)
    assert (done["sessions"], done["already_imported"]) == (160, 0)
