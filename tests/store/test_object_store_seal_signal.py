"""SIGTERM (or Ctrl-C) while the upload at a run's end hangs on a stalled store (docs/scaling.md, "Uploads
and errors"): the run ends at once and leaves the upload to `doctor --fix`, and still reports itself: the
`run --json` document on stdout (session id, status, `"upload": "pending"`), the summary line and a line
saying how to finish the upload on stderr, exit 128 + the signal (130 for Ctrl-C), its log complete. Driven
through the installed `dreamcli` in a subprocess, the signal sent for real, the store the blackhole of
test_object_store_stalls (the client's own timeouts: a hung request lasts 20 s or more)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from dreamcli.errors import EXIT_INTERRUPTED
from dreamcli.testing import FakeAnthropic, text_reply
from dreamcli.workspace.home import Workspace
from tests.store.test_object_store_stalls import _journal, _ws, blackhole, signal_once_hung, stalled  # noqa: F401
from tests.support.blackhole import Blackhole
from tests.support.run import DREAMCLI, cli_env, session_files, validate_log

HUNG_S = 20  # at least, what a request to the blackhole holds a run with the client's own timeouts (docs/scaling.md)


def _interrupt_hung_end(tmp_path: Path, url: str, hole: Blackhole, anthropic: FakeAnthropic, part_lines: int,
                        signum: int) -> tuple[Workspace, subprocess.Popen[str], str, str, float]:
    """`dreamcli run --json` whose end hangs on the store, sent `signum` while it hangs."""
    ws = _ws(tmp_path / "ws", url, part_lines)
    anthropic.expect(text_reply("done"))
    env = cli_env(anthropic.url, ws.root, AWS_ENDPOINT_URL=hole.url)
    proc = subprocess.Popen([DREAMCLI, "run", "-p", "say done", "-C", str(tmp_path), "--json"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err, took = signal_once_hung(proc, hole, signum, timeout=30)
    return ws, proc, out, err, took


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.parametrize(("part_lines", "signum"), [(200, signal.SIGTERM), (4, signal.SIGTERM), (200, signal.SIGINT)],
                         ids=["seal-sigterm", "last-part-sigterm", "seal-ctrl-c"])
def test_a_signal_during_the_hung_end_upload_still_reports_the_run(
        tmp_path: Path, stalled: str, blackhole: Blackhole,  # noqa: F811
        fake_anthropic: FakeAnthropic, part_lines: int, signum: int) -> None:
    # 200 lines a part: the seal's PUT of the whole session hangs; 4: the part the session.end line fills
    ws, proc, out, err, took = _interrupt_hung_end(tmp_path, stalled, blackhole, fake_anthropic, part_lines,
                                                     signum)
    code = EXIT_INTERRUPTED if signum == signal.SIGINT else 128 + signum
    assert proc.returncode == code, err
    # the hung request would hold the run 20 s or more; the exit itself (the interpreter's teardown of the
    # S3 client's modules, on a busy machine) may take a few seconds
    assert took < HUNG_S / 2, f"{took:.1f} s: the run waited for the hung store"
    assert [r.split(" ")[0] for r in blackhole.requests] == ["PUT"], blackhole.requests  # nothing tried again

    [log] = session_files(ws.root)
    end = validate_log(log)[-1]
    assert end["type"] == "session.end" and end["status"] == "completed", end  # the run itself completed
    assert _journal(ws, log.stem).get("sealed") is True  # left for doctor --fix

    data = json.loads(out)  # one whole document, nothing else on stdout
    assert data["session_id"] == log.stem and data["status"] == "completed", data
    assert data["upload"] == "pending" and data["exit_code"] == code, data
    assert data["final_text"] == "done"

    lines = err.splitlines()
    summary = [x for x in lines if x.startswith("■ completed") or x.startswith("completed ·")]
    assert len(summary) == 1 and f"session {log.stem}" in summary[0], err
    pending = [x for x in lines if "dreamcli doctor --fix" in x]
    assert len(pending) == 1 and log.stem in pending[0] and "pending" in pending[0], err
    assert lines.index(summary[0]) < lines.index(pending[0]), err



@pytest.mark.parametrize("store", ["s3", "local"])
def test_run_json_says_what_became_of_the_upload(tmp_path: Path, fake_anthropic: FakeAnthropic, store: str,
                                                 request: pytest.FixtureRequest) -> None:
    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    if store == "s3":
        ws = _ws(tmp_path / "ws", str(request.getfixturevalue("s3_env")), 200)
    else:
        ws = Workspace(tmp_path / "ws", "option").ensure_layout()
    fake_anthropic.expect(text_reply("done"))
    r = CliRunner().invoke(app, ["--home", str(ws.root), "run", "-p", "say done", "-C", str(tmp_path), "--json"],
                           env={"NO_COLOR": "1"})
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["upload"] == ("sealed" if store == "s3" else None), data
    assert "doctor --fix" not in r.stderr and not (ws.sessions_dir / ".uploads" / data["session_id"]).exists()
