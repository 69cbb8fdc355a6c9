"""Object storage that accepts connections and never answers (docs/scaling.md, "Uploads and errors"): each
request gives up within its bound (2 attempts × (connect + read timeout) + 1 s of backoff: the driver adds no
retries of its own, and a PUT waiting for a `100 Continue` gives up too); a run's end waits for one request at
most and leaves the upload pending for `doctor --fix`; Ctrl-C or SIGTERM during a hung upload ends the run at
once; `dream` exits 4. The stalled endpoint is a TCP server on 127.0.0.1 that reads and never writes; the
client's timeouts are lowered to 1 s (the bound is then 5 s) so the tests take seconds, not minutes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli import doctor
from dreamcli.cli.app import app
from dreamcli.config import Config
from dreamcli.errors import EXIT_CREDENTIALS, EXIT_INTERRUPTED
from dreamcli.store import uploads
from dreamcli.store.base import StoreFilter
from dreamcli.store.errors import StoreUnavailable
from dreamcli.store.objects import ObjectStore
from dreamcli.store.sink import session_sink
from dreamcli.testing import FakeAnthropic, text_reply
from dreamcli.workspace.home import Workspace
from tests.store.conftest import _free_port
from tests.store.test_conformance import line, sid
from tests.support.blackhole import Blackhole
from tests.support.run import cli_env, session_files, validate_log

TIMEOUT_S = 1  # connect and read, lowered for these tests
BOUND_S = 2 * (TIMEOUT_S + TIMEOUT_S) + 1  # one request: 2 attempts, each its timeouts, 1 s of backoff
SLACK_S = 1.5  # making the client, a busy machine


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    server = Blackhole()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def stalled(s3_env: str, blackhole: Blackhole, monkeypatch: pytest.MonkeyPatch) -> str:
    """AWS variables pointing at the blackhole, the client's timeouts lowered; returns the bucket's URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", blackhole.url)
    monkeypatch.setattr(uploads, "CONNECT_TIMEOUT_S", TIMEOUT_S)
    monkeypatch.setattr(uploads, "READ_TIMEOUT_S", TIMEOUT_S)
    return s3_env


def _ws(root: Path, url: str, part_lines: int) -> Workspace:
    ws = Workspace(root, "option").ensure_layout()
    ws.config_path.write_text(f"sessions:\n  url: {json.dumps(url)}\n  part_lines: {part_lines}\n")
    return ws


def _journal(ws: Workspace, session_id: str) -> dict[str, object]:
    return dict(json.loads((ws.sessions_dir / uploads.PENDING / session_id).read_text() or "{}"))


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_listing_gives_up_within_the_bound_after_two_attempts(ws: Workspace, stalled: str,
                                                                  blackhole: Blackhole) -> None:
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable) as e:
        ObjectStore(stalled, ws.sessions_dir).list()
    took = time.monotonic() - t0
    assert e.value.exit_code == EXIT_CREDENTIALS and "does not answer" in str(e.value), e.value
    assert took < BOUND_S + SLACK_S, f"{took:.1f} s"
    assert len(blackhole.requests) == 2, blackhole.requests  # botocore's two attempts; s3fs adds none


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_an_upload_gives_up_within_the_bound(ws: Workspace, stalled: str, blackhole: Blackhole) -> None:
    store = ObjectStore(stalled, ws.sessions_dir, part_lines=1)
    a = sid(0)
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable) as e:
        store.append(a, line(a, 0))  # a PUT: the client waits for a "100 Continue" that never comes
    took = time.monotonic() - t0
    assert "does not answer" in str(e.value) and took < BOUND_S + SLACK_S, (f"{took:.1f} s", str(e.value))
    assert blackhole.requests and all(r.startswith("PUT ") for r in blackhole.requests), blackhole.requests


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_run_s_end_waits_for_one_request_at_most_and_leaves_the_upload_to_doctor_fix(
        tmp_path: Path, stalled: str, blackhole: Blackhole, moto_endpoint: str, fake_anthropic: FakeAnthropic,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 4 lines (start, prompt, answer, end): the end's line fills a part, whose upload fails; the seal then
    # does not try the same request again at once
    ws = _ws(tmp_path / "ws", stalled, part_lines=4)
    fake_anthropic.expect(text_reply("done"))
    r = CliRunner().invoke(app, ["--home", str(ws.root), "run", "-p", "say done", "-C", str(tmp_path), "--json"],
                           env={"NO_COLOR": "1"})
    returned = time.time()
    assert r.exit_code == 0, r.output
    [local] = session_files(ws.root)
    end = validate_log(local)[-1]
    took = returned - datetime.fromisoformat(end["ts"].replace("Z", "+00:00")).timestamp()  # from session.end
    assert end["type"] == "session.end" and took < BOUND_S + SLACK_S, f"{took:.1f} s"
    assert [x.split(" ")[0] for x in blackhole.requests] == ["PUT"], blackhole.requests
    session_id = json.loads(r.stdout)["session_id"]
    assert _journal(ws, session_id).get("sealed") is True  # pending, and its run ended
    assert json.loads(r.stdout)["upload"] == "pending"
    fix = f"dreamcli --home {ws.root} doctor --fix"
    assert f"warning: upload of session {session_id} pending: `{fix}` sends it" in r.stderr, r.stderr
    failures = (ws.logs_dir / "store.log").read_text().splitlines()
    assert len(failures) == 1 and session_id in failures[0] and "does not answer" in failures[0], failures

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # the store answers again
    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])
    r = CliRunner().invoke(app, ["--home", str(ws.root), "doctor", "--fix", "--json"])
    [check] = [c for c in json.loads(r.stdout)["checks"] if c["name"] == "uploads"]
    assert check["status"] == "ok" and check["detail"].startswith("sent 1 session"), check
    [stored] = ObjectStore(stalled, ws.sessions_dir).list(StoreFilter(sealed=True))
    assert stored.session_id == session_id and stored.size == local.stat().st_size


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_dream_exits_4_within_the_bound(tmp_path: Path, stalled: str, blackhole: Blackhole) -> None:
    ws = _ws(tmp_path / "ws", stalled, part_lines=200)
    t0 = time.monotonic()
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline"])
    took = time.monotonic() - t0
    assert r.exit_code == EXIT_CREDENTIALS and stalled in r.stderr and "does not answer" in r.stderr, r.output
    assert took < BOUND_S + SLACK_S and len(blackhole.requests) == 2, (f"{took:.1f} s", blackhole.requests)


def test_the_run_hears_of_each_upload_it_waits_for(ws: Workspace, s3_env: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.sessions.writer import SessionWriter

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")  # refused: fails at once
    told: list[bool] = []
    config = Config.model_validate({"sessions": {"url": s3_env, "part_lines": 2}})
    writer = SessionWriter(ws, sink=session_sink(ws, config, on_wait=told.append))
    writer.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
    assert told == []
    writer.message("user", "a part's worth")  # the first part: tried, failed
    assert told == [True, False]
    writer.message("user", "backing off")
    writer.end("completed")  # the seal tries once more: lines came after the failure
    assert told == [True, False, True, False]


# A `dreamcli run` whose hung request holds it 20 s (its read timeout): a run that waited for it, or tried the
# store again, is told from one that stopped at once by far more than a busy machine's exit takes.
HUNG_S = 20
RUN = textwrap.dedent(f"""
    import sys
    from dreamcli.store import uploads
    uploads.CONNECT_TIMEOUT_S, uploads.READ_TIMEOUT_S = 1, {HUNG_S}
    from dreamcli.cli.app import main
    sys.argv = ["dreamcli", *sys.argv[1:]]
    main()
""")


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_hung_upload_ends_the_run_at_once(tmp_path: Path, stalled: str, blackhole: Blackhole,
                                                            fake_anthropic: FakeAnthropic, signum: int) -> None:
    ws = _ws(tmp_path / "ws", stalled, part_lines=2)  # the prompt's line fills the first part: its PUT hangs
    fake_anthropic.allow_leftovers = True
    fake_anthropic.expect(text_reply("done"))
    env = cli_env(fake_anthropic.url, ws.root, AWS_ENDPOINT_URL=blackhole.url)
    proc = subprocess.Popen([sys.executable, "-c", RUN, "run", "-p", "say done", "-C", str(tmp_path)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err, took = signal_once_hung(proc, blackhole, signum, timeout=60)
    assert proc.returncode == (EXIT_INTERRUPTED if signum == signal.SIGINT else 128 + signum), err
    assert took < HUNG_S / 2, f"{took:.1f} s: the run's end waited for the hung store"
    assert [r.split(" ")[0] for r in blackhole.requests] == ["PUT"], blackhole.requests  # nothing tried again
    [log] = session_files(ws.root)
    end = validate_log(log)[-1]
    assert end["type"] == "session.end" and end["status"] == "interrupted"
    assert _journal(ws, log.stem).get("sealed") is True  # left for doctor --fix


def signal_once_hung(proc: subprocess.Popen[str], hole: Blackhole, signum: int,
                     timeout: float) -> tuple[str, str, float]:
    """Send `signum` to `proc` once its first request reached `hole` (and hangs there): its stdout, its stderr,
    and the seconds from the signal to its exit."""
    try:
        deadline = time.monotonic() + 30
        while not hole.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hole.requests, "the run never tried to upload"
        time.sleep(0.3)
        t0 = time.monotonic()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=timeout)
        return out, err, time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
