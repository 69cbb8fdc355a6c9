"""Object storage when things go wrong (docs/scaling.md, "Uploads and errors"): an unreachable store costs a
run few upload attempts, never one per line; store errors are one line with exit 4 (environment) or 2
(sessions.url), never an internal error; a missing bucket is an error, a missing prefix an empty listing;
URLs are checked at init; listing skips keys that are not sessions; `resume` sends every unsent tail, once,
from any number of processes. S3 is moto on 127.0.0.1; "down" is a closed port of 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.config import Config
from dreamcli.errors import EXIT_CREDENTIALS, EXIT_USAGE, DreamError, UsageError
from dreamcli.sessions.paths import session_path
from dreamcli.sessions.writer import SessionWriter
from dreamcli.store.base import StoreFilter
from dreamcli.store.errors import StoreMisconfigured, StoreUnavailable
from dreamcli.store.objects import ObjectStore
from dreamcli.store.sink import session_sink
from dreamcli.store.uploads import PENDING
from dreamcli.store.url import check_url, open_store
from dreamcli.workspace.home import Workspace
from tests.store.conftest import _free_port
from tests.store.test_conformance import line, sid

runner = CliRunner()


@pytest.fixture
def down(s3_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """AWS variables pointing at a closed port of 127.0.0.1 (connections refused); returns the bucket URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    return s3_env


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of every upload tried (each PUT of a part or a marker), failed or not."""
    tried: list[str] = []
    real = ObjectStore._put

    def put(self: ObjectStore, key: str, data: bytes) -> None:
        tried.append(key.rsplit("/", 1)[-1])
        real(self, key, data)

    monkeypatch.setattr(ObjectStore, "_put", put)
    return tried


def _remote(url: str, session_id: str) -> bytes:
    with ObjectStore(url, Path(os.devnull)).open(session_id) as f:
        return f.read()


# --- A: an unreachable store never stalls a run --------------------------------------------------

def test_a_run_cut_off_from_the_store_tries_few_uploads_then_resume_sends_it_all(
        ws: Workspace, down: str, attempts: list[str], moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config.model_validate({"sessions": {"url": down, "part_lines": 5}})
    with SessionWriter(ws, sink=session_sink(ws, config)) as w:
        w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
        for i in range(60):  # 12 part boundaries: the first fails, the others wait for the backoff
            w.message("user", f"line {i}")
        assert len(attempts) == 1
        w.end("completed")
    assert len(attempts) == 2  # the first part, then the seal's one try: not one per line
    local = session_path(ws, w.session_id).read_bytes()
    assert len(local.splitlines()) == 62  # every line is in the local file
    log = (ws.logs_dir / "store.log").read_text().splitlines()
    assert len(log) == 2 and all(down in x and "does not answer" in x for x in log)

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # the store is back
    store = open_store(ws, down)
    assert isinstance(store, ObjectStore)
    resumed = store.resume()
    assert (resumed.sent, resumed.failed, resumed.busy, resumed.count) == ([w.session_id], {}, [], 1)
    assert resumed.parts == 2 and resumed.bytes == len(local)  # the whole session, then its marker
    assert _remote(down, w.session_id) == local
    assert [(s.session_id, s.sealed) for s in store.list()] == [(w.session_id, True)]
    assert store.resume().count == 0 and not (ws.sessions_dir / PENDING / w.session_id).exists()


def test_uploads_go_on_at_every_part_while_the_store_answers(ws: Workspace, s3_env: str,
                                                              attempts: list[str]) -> None:
    store = ObjectStore(s3_env, ws.sessions_dir, part_lines=2)
    a = sid(0)
    for i in range(6):
        store.append(a, line(a, i))
    store.seal(a)
    assert attempts == ["part-000000.jsonl", "part-000001.jsonl", "part-000002.jsonl", "sealed.json"]


# --- B: store errors are the project's, one line naming the URL ----------------------------------

def test_a_missing_bucket_is_an_error_and_a_missing_prefix_an_empty_listing(ws: Workspace, s3_env: str) -> None:
    assert ObjectStore(s3_env + "/never-written", ws.sessions_dir).list() == []
    missing = f"s3://nosuch-{uuid.uuid4().hex[:12]}/sessions"
    store = ObjectStore(missing, ws.sessions_dir)
    for call in (store.list, store.watermark, lambda: store.open(sid(0))):
        with pytest.raises(StoreMisconfigured) as e:
            call()
        assert e.value.exit_code == EXIT_USAGE and missing in str(e.value) and "does not exist" in str(e.value)
        assert "\n" not in str(e.value)


def test_no_credentials_and_a_dead_endpoint_exit_4(ws: Workspace, s3_env: str, down: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StoreUnavailable) as e:
        ObjectStore(down, ws.sessions_dir).list()
    assert e.value.exit_code == EXIT_CREDENTIALS and "does not answer at http://127.0.0.1:" in str(e.value)
    with pytest.raises(StoreUnavailable):
        ObjectStore(down, Path(os.devnull)).open(sid(0))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(ws.root / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(ws.root / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(StoreUnavailable) as e:
        ObjectStore(s3_env, ws.sessions_dir).list()
    assert e.value.exit_code == EXIT_CREDENTIALS and s3_env in str(e.value) and "AWS_ACCESS_KEY_ID" in str(e.value)


class _Deny(BaseHTTPRequestHandler):
    """An S3 endpoint that refuses every key (403 InvalidAccessKeyId), as AWS does for a wrong one."""

    def _deny(self) -> None:
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS '
                b"Access Key Id you provided does not exist in our records.</Message></Error>")
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = _deny

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def denying(s3_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Deny)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
    try:
        yield s3_env
    finally:
        server.shutdown()


def test_a_wrong_key_is_access_denied_exit_4_without_the_secret(ws: Workspace, denying: str) -> None:
    with pytest.raises(StoreUnavailable) as e:
        ObjectStore(denying, ws.sessions_dir).list()
    message = str(e.value)
    assert e.value.exit_code == EXIT_CREDENTIALS and denying in message and "access denied (InvalidAccessKeyId)" \
        in message
    assert "wrong-secret-value" not in message and "\n" not in message


def _workspace(tmp_path: Path, url: str) -> Path:
    home = tmp_path / "h"
    r = runner.invoke(app, ["--home", str(home), "init", "--sessions-url", url])
    assert r.exit_code == 0, r.output
    return home


def test_dream_says_one_line_and_the_right_exit_code(tmp_path: Path, s3_env: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    missing = f"s3://nosuch-{uuid.uuid4().hex[:12]}/sessions"
    r = runner.invoke(app, ["--home", str(_workspace(tmp_path / "a", missing)), "dream", "--offline"])
    assert r.exit_code == EXIT_USAGE, r.output
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and missing in r.stderr
    assert "internal error" not in r.stderr and "nothing new" not in r.output.lower()
    home = _workspace(tmp_path / "b", s3_env)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    r = runner.invoke(app, ["--home", str(home), "dream", "--offline"])
    assert r.exit_code == EXIT_CREDENTIALS and s3_env in r.stderr and "internal error" not in r.stderr, r.output


# --- B, C: URLs are checked at init ----------------------------------------------------------------

@pytest.mark.parametrize("url", ["s3://Fleet Bucket/x", "s3://ab/x", "s3://under_score/x", "s3://-fleet/x",
                                 "s3://fleet-/x", "s3://a..b/x", "s3://" + "a" * 64 + "/x"])
def test_init_refuses_a_bucket_name_s3_would_refuse(tmp_path: Path, url: str) -> None:
    r = runner.invoke(app, ["init", str(tmp_path / "p"), "--sessions-url", url])
    assert r.exit_code == EXIT_USAGE and "is not a valid bucket name" in r.stderr, r.output
    assert not (tmp_path / "p" / ".dreamcli").exists()


@pytest.mark.parametrize("url", ["fleet/sessions", "./fleet", "~/fleet", "file://fleet/sessions", "file:fleet", ""])
def test_init_refuses_a_relative_path(tmp_path: Path, url: str) -> None:
    r = runner.invoke(app, ["init", str(tmp_path / "p"), "--sessions-url", url])
    assert r.exit_code == EXIT_USAGE, r.output
    assert "file:///" in r.stderr and not (tmp_path / "p" / ".dreamcli").exists()


def test_good_urls_pass(tmp_path: Path) -> None:
    for url in ("s3://fleet/x", "s3://fleet.example-1/x/y", "s3://abc", f"file://{tmp_path}/v", str(tmp_path / "v"),
                "file://localhost/mnt/v", "memory://fleet/x", "gs://Some_Bucket/x"):
        assert check_url(url) == url
    with pytest.raises(UsageError):
        check_url("relative/dir")


# --- D: listing holds sessions only ---------------------------------------------------------------

def test_listing_skips_keys_that_are_not_sessions(ws: Workspace, s3_env: str) -> None:
    store = ObjectStore(s3_env, ws.sessions_dir)
    a, b = sid(0), sid(1)
    for s in (a, b):
        store.append(s, line(s, 0))
        store.seal(s)
    day = store.key(a).rsplit("/", 1)[0]
    other_day = store.key(b).rsplit("/", 1)[0]
    for key in (f"{day}/README.txt", f"{day}/notaulid/part-000000.jsonl", f"{day}/{a.lower()}/part-000000.jsonl",
                f"{other_day}/{a}/part-000000.jsonl", f"{day}/{b}/part-000000.jsonl",  # b, in a's day
                f"{day}/{a}/notes.txt", f"{store.root}/tmp/x/y/z.jsonl", f"{store.root}/2026/11/zz/x.jsonl"):
        store.fs.pipe_file(key, b"{}\n")
    listed = store.list()
    assert [(s.session_id, s.sealed, s.size) for s in listed] == [(a, True, len(line(a, 0))),
                                                                   (b, True, len(line(b, 0)))]
    assert store.watermark() == b
    assert [s.session_id for s in store.list(StoreFilter(after=a))] == [b]


# --- E: resume --------------------------------------------------------------------------------------

KILLED = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from dreamcli.store.objects import ObjectStore
    from tests.store.test_conformance import line
    store = ObjectStore(sys.argv[1], Path(sys.argv[2]), part_lines=4)
    for sid in sys.argv[3:]:
        for i in range(6):
            store.append(sid, line(sid, i))
    os.kill(os.getpid(), signal.SIGKILL)
""")


def _killed_run(url: str, buffer_dir: Path, *ids: str) -> None:
    """Writers killed with SIGKILL after 6 lines with part_lines 4: 4 lines in the bucket, 6 local."""
    proc = subprocess.run([sys.executable, "-c", KILLED, url, str(buffer_dir), *ids], env=os.environ.copy(),
                          cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert proc.returncode == -9


def test_resume_sends_the_tail_of_a_killed_run_once(ws: Workspace, s3_env: str, moto_endpoint: str,
                                                    monkeypatch: pytest.MonkeyPatch, attempts: list[str]) -> None:
    a = sid(0)
    _killed_run(s3_env, ws.sessions_dir, a)
    store = ObjectStore(s3_env, ws.sessions_dir)
    local = store.buffer_path(a).read_bytes()
    assert len(_remote(s3_env, a).splitlines()) == 4 and len(local.splitlines()) == 6
    resumed = store.resume()
    assert (resumed.sent, resumed.parts, resumed.bytes, resumed.failed) == ([a], 1, len(b"".join(
        local.splitlines(keepends=True)[4:])), {})
    assert _remote(s3_env, a) == local and [s.sealed for s in store.list()] == [False]  # its run never ended
    assert store.resume().count == 0 and attempts == ["part-000001.jsonl"]  # idempotent: nothing sent again
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    assert ObjectStore(s3_env, ws.sessions_dir).resume() == type(resumed)()  # all sent: no request made
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    with open(store.buffer_path(a), "ab") as f:  # what a recovery does: the run's log is ended
        f.write(line(a, 6, "session.end"))
    assert ObjectStore(s3_env, ws.sessions_dir).resume().sent == [a]
    assert [(s.session_id, s.sealed) for s in store.list()] == [(a, True)]
    assert _remote(s3_env, a) == store.buffer_path(a).read_bytes()


def test_resume_with_nothing_pending_makes_no_client(ws: Workspace, down: str) -> None:
    store = ObjectStore(down, ws.sessions_dir)
    assert store.resume().count == 0 and store._fs is None  # no driver imported, no request


def test_resume_reports_what_failed_and_keeps_it_for_next_time(ws: Workspace, s3_env: str, down: str) -> None:
    writer = ObjectStore(down, ws.sessions_dir, part_lines=100)
    ids = [sid(0), sid(1)]
    for s in ids:
        writer.append(s, line(s, 0))
        with pytest.raises(StoreUnavailable):
            writer.seal(s)
    resumed = ObjectStore(down, ws.sessions_dir).resume()
    assert resumed.count == 0 and sorted(resumed.failed) == ids
    assert all(down in why and "\n" not in why for why in resumed.failed.values())
    assert sorted(os.listdir(ws.sessions_dir / PENDING)) == ids


def test_a_live_writer_s_session_is_left_to_it(ws: Workspace, s3_env: str, attempts: list[str]) -> None:
    a = sid(0)
    writer = ObjectStore(s3_env, ws.sessions_dir, part_lines=100)
    writer.append(a, line(a, 0))
    resumed = ObjectStore(s3_env, ws.sessions_dir).resume()
    assert (resumed.busy, resumed.count, attempts) == ([a], 0, [])
    writer.seal(a)
    assert attempts == ["part-000000.jsonl", "sealed.json"]


RESUMER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from dreamcli.store.objects import ObjectStore
    r = ObjectStore(sys.argv[1], Path(sys.argv[2])).resume()
    print(json.dumps({"sent": r.sent, "failed": r.failed}))
""")


def test_two_processes_resuming_at_once_send_each_tail_once(ws: Workspace, s3_env: str) -> None:
    ids = [sid(0, n) for n in range(1, 13)]
    _killed_run(s3_env, ws.sessions_dir, *ids)
    cmd = [sys.executable, "-c", RESUMER, s3_env, str(ws.sessions_dir)]
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, env=os.environ.copy(), cwd=root) for _ in range(2)]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(not r["failed"] for r in results)
    sent = [s for r in results for s in r["sent"]]
    assert sorted(sent) == ids  # each tail sent by exactly one of them
    store = ObjectStore(s3_env, ws.sessions_dir)
    for s in ids:
        assert _remote(s3_env, s) == store.buffer_path(s).read_bytes()
        assert len(store._part_sizes(s)) == 2


def test_store_errors_are_dream_errors_never_internal(ws: Workspace, down: str) -> None:
    store = ObjectStore(down, ws.sessions_dir, part_lines=1)
    with pytest.raises(DreamError) as e:
        store.append(sid(0), line(sid(0), 0))  # the direct API raises (a writer's sink logs it)
    assert e.value.exit_code == EXIT_CREDENTIALS
    store.append(sid(0), line(sid(0), 1))  # backing off: no attempt, no error


@pytest.mark.parametrize("url", ["s3://AKIAXXXX:pa/ss@fleet/x", "s3://AKIAXXXX/secretpw@fleet/x",
                                 "s3://fleet/x@secretpw", "s3://:secretpw@fleet/x"])
def test_a_url_with_an_at_sign_anywhere_is_refused_without_quoting_it(tmp_path: Path, url: str) -> None:
    # a password with a `/` moved the `@` out of the host part, and a later check quoted the whole URL
    r = runner.invoke(app, ["init", str(tmp_path / "p"), "--sessions-url", url])
    assert r.exit_code == EXIT_USAGE and "must not carry credentials" in r.stderr, r.output
    assert "secret" not in r.stderr and "ss@" not in r.stderr
