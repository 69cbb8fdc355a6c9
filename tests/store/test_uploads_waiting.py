"""Sessions whose upload failed or was cut by a kill are not lost silently (S3 served by moto on 127.0.0.1):
`doctor` counts them from local files (an `uploads` WARN with the fix), `doctor --fix` sends them
(`ObjectStore.resume`), and `sessions import` says which sessions it could not upload and sends, on a
re-run, what earlier commands left waiting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli import doctor
from dreamcli.cli.app import app
from dreamcli.sessions.paths import iter_session_files
from dreamcli.store.base import StoreFilter
from dreamcli.store.objects import ObjectStore
from dreamcli.workspace.home import Workspace
from tests.support.paths import CLAUDE_CODE_SAMPLES

DOWN = "http://127.0.0.1:1"  # nothing listens there: every request is refused at once

RUN = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from dreamcli.config import Config
    from dreamcli.sessions.writer import SessionWriter
    from dreamcli.store.sink import session_sink
    from dreamcli.workspace.home import Workspace
    ws = Workspace(Path(sys.argv[1]), "option")
    config = Config.model_validate({"sessions": {"url": sys.argv[2], "part_lines": 4}})
    w = SessionWriter(ws, sink=session_sink(ws, config))
    w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
    for i in range(5):
        w.message("user", f"line {i}")
    print(w.session_id, flush=True)
    if sys.argv[3] == "end":
        w.end("completed")
        w.close()
    else:
        time.sleep(600)  # killed here: 6 lines written, the first part (4 lines) uploaded
""")


def _ws(root: Path, url: str) -> Workspace:
    ws = Workspace(root, "option").ensure_layout()
    ws.config_path.write_text(f"sessions:\n  url: {json.dumps(url)}\n")
    return ws


def _cli(ws: Workspace, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dreamcli", "--home", str(ws.root), *args], capture_output=True,
                          text=True, timeout=180, env=env or os.environ.copy())


def _uploads(ws: Workspace, *fix: str) -> tuple[int, dict[str, Any]]:
    """`doctor --json` in this process (the agent tools not probed): its exit code and `uploads` line."""
    r = CliRunner().invoke(app, ["--home", str(ws.root), "doctor", "--json", *fix], catch_exceptions=False)
    [check] = [c for c in json.loads(r.stdout)["checks"] if c["name"] == "uploads"]
    return r.exit_code, check


def _remote(url: str, ws: Workspace, *, sealed: bool | None = True) -> dict[str, bytes]:
    store = ObjectStore(url, ws.sessions_dir)
    return {s.session_id: store.open(s.session_id).read() for s in store.list(StoreFilter(sealed=sealed))}


def _local(ws: Workspace) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in iter_session_files(ws)}


@pytest.fixture(autouse=True)
def _quick_doctor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])


def test_a_run_killed_mid_upload_is_counted_by_doctor_and_sent_by_doctor_fix(tmp_path: Path, s3_env: str) -> None:
    ws = _ws(tmp_path / "ws", s3_env)
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(ws.root), s3_env, "kill"], stdout=subprocess.PIPE,
                            text=True, env=os.environ.copy())
    try:
        assert proc.stdout is not None
        sid = proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    local = _local(ws)[sid]
    assert len(local.splitlines()) == 6
    assert len(_remote(s3_env, ws, sealed=None)[sid].splitlines()) == 4  # the reviewer's 6 local, 4 in the bucket

    code, check = _uploads(ws)
    assert code == 0 and check["status"] == "warn", check
    assert check["detail"].startswith("1 session not all uploaded to " + s3_env), check
    assert "doctor --fix" in check["fix"]

    code, check = _uploads(ws, "--fix")
    assert code == 0 and check["status"] == "ok" and check["detail"].startswith("sent 1 session"), check
    assert _remote(s3_env, ws, sealed=None)[sid] == local  # every line; not sealed: its run never ended
    code, check = _uploads(ws)
    assert check == {"name": "uploads", "status": "ok", "detail": "no session waiting to upload", "fix": ""}


def test_a_run_cut_off_from_the_store_is_sent_sealed_by_doctor_fix(tmp_path: Path, s3_env: str) -> None:
    ws = _ws(tmp_path / "ws", s3_env)
    down = dict(os.environ, AWS_ENDPOINT_URL=DOWN)
    r = subprocess.run([sys.executable, "-c", RUN, str(ws.root), s3_env, "end"], capture_output=True, text=True,
                       env=down, timeout=180)
    assert r.returncode == 0, r.stderr
    sid = r.stdout.strip()
    assert sid in (ws.logs_dir / "store.log").read_text() and _remote(s3_env, ws, sealed=None) == {}

    code, check = _uploads(ws)
    assert check["status"] == "warn" and check["detail"].startswith("1 session not all uploaded"), check

    r = _cli(ws, "doctor", "--fix", env=down)  # still down: said, and still waiting
    assert r.returncode == 1, r.stdout
    assert "FAIL" in r.stdout and "still waiting" in r.stdout and "doctor --fix" in r.stdout

    code, check = _uploads(ws, "--fix")
    assert code == 0 and check["status"] == "ok", check
    assert _remote(s3_env, ws) == _local(ws)  # whole and sealed
    assert _uploads(ws)[1]["detail"] == "no session waiting to upload"


def test_nothing_waiting_means_no_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.portability.arrivals import send_waiting

    pytest.importorskip("fsspec", reason="fsspec is not installed (pip install '.[s3]')")
    ws = _ws(tmp_path / "ws", "s3://no-such-bucket-anywhere/x")
    monkeypatch.setenv("AWS_ENDPOINT_URL", DOWN)

    def no_client(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a client was made: nothing waits")

    monkeypatch.setattr("fsspec.core.url_to_fs", no_client)  # every ObjectStore makes its client through it
    monkeypatch.setattr(ObjectStore, "resume", no_client)
    done = send_waiting(ws, "s3://no-such-bucket-anywhere/x")
    assert (done.sent, done.failed) == ([], [])


def test_an_import_with_the_store_down_says_so_and_a_rerun_sends_it(tmp_path: Path, s3_env: str) -> None:
    ws = _ws(tmp_path / "ws", s3_env)
    args = ("sessions", "import", "claude-code", str(CLAUDE_CODE_SAMPLES), "--json")
    r = _cli(ws, *args, env=dict(os.environ, AWS_ENDPOINT_URL=DOWN))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["sessions"] == 4
    assert data["upload"]["url"] == s3_env and data["upload"]["not_uploaded"] == 4 and data["upload"]["error"]
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "4 imported sessions not uploaded to " + s3_env in warnings[0], r.stderr
    assert "doctor --fix" in warnings[0]
    assert _remote(s3_env, ws, sealed=None) == {}
    assert _uploads(ws)[1]["detail"].startswith("4 sessions not all uploaded")

    r = _cli(ws, *args, env=dict(os.environ, AWS_ENDPOINT_URL=DOWN))  # still down: a re-run says they wait
    assert r.returncode == 0 and json.loads(r.stdout)["upload"]["still_waiting"] == 4, r.stderr
    assert "4 sessions still waiting to upload to " + s3_env in r.stderr

    r = _cli(ws, *args)  # the store is back: nothing new to import, the waiting ones are sent
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["sessions"] == 0 and data["already_imported"] == 4
    assert data["upload"] == {"url": s3_env, "not_uploaded": 0, "sent_waiting": 4, "still_waiting": 0,
                              "error": None}
    assert "warning" not in r.stderr and "sent 4 sessions that waited to upload" in r.stderr
    assert _remote(s3_env, ws) == _local(ws) and len(_local(ws)) == 4


def test_an_import_that_uploads_says_nothing_more(tmp_path: Path, s3_env: str) -> None:
    ws = _ws(tmp_path / "ws", s3_env)
    r = _cli(ws, "sessions", "import", "claude-code", str(CLAUDE_CODE_SAMPLES), "--json")
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    assert json.loads(r.stdout)["upload"]["not_uploaded"] == 0
    assert _remote(s3_env, ws) == _local(ws)


def test_an_import_into_a_local_workspace_has_no_upload(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws", "option").ensure_layout()
    r = _cli(ws, "sessions", "import", "claude-code", str(CLAUDE_CODE_SAMPLES), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["upload"] is None
