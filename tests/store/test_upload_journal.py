"""The upload journal (`sessions/.uploads/<id>`, dreamcli.store.uploads) under the reviewer's faults: an import
with the store down keeps no file open per session; an unreadable journal and a failed resume never make the
bucket more than a prefix of the local file; a killed run's journal is let go once it is all up and idle; this
machine's disk errors are not the store's; a secret in AWS_ENDPOINT_URL is never said. S3 is moto on
127.0.0.1; "down" is a closed port of 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dreamcli.errors import DreamError
from dreamcli.sessions.paths import session_path
from dreamcli.store.base import StoreFilter
from dreamcli.store.objects import ObjectStore
from dreamcli.store.uploads import IDLE_S, PENDING, RECORD_WIDTH, pending_ids
from dreamcli.store.url_text import redacted_urls
from dreamcli.workspace.home import Workspace
from tests.store.conftest import _free_port
from tests.store.test_conformance import line, sid
from tests.store.test_object_store_faults import _killed_run, _remote

REPO = Path(__file__).resolve().parents[2]


def _journal(buffer_dir: Path, session_id: str) -> bytes:
    return (buffer_dir / PENDING / session_id).read_bytes()


# --- 1: marking sessions waiting holds no file open -------------------------------------------------

IMPORT_DOWN = textwrap.dedent("""
    import json, os, resource, sys
    from pathlib import Path
    from dreamcli.portability.arrivals import Publisher, waiting_uploads
    from dreamcli.store.uploads import PENDING
    from dreamcli.workspace.home import Workspace
    from tests.store.test_conformance import line, sid
    resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))  # fewer than the sessions imported
    ws = Workspace(Path(sys.argv[1]), "option")
    ids = [sid(0, n) for n in range(1, 301)]
    from dreamcli.sessions.paths import session_path
    for s in ids:
        p = session_path(ws, s)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(line(s, 0, "session.start") + line(s, 1, "session.end"))
    pub = Publisher(ws)
    for i in range(0, len(ids), 50):  # an import's batches: on_commit after each
        pub(ids[i:i + 50])
    report = pub.finish()
    print(json.dumps({"report": report.to_json(), "journals": len(os.listdir(ws.sessions_dir / PENDING)),
                      "waiting": len(waiting_uploads(ws, report.url).waiting),
                      "fds": len(os.listdir("/proc/self/fd"))}))
""")


def test_an_import_of_many_sessions_with_the_store_down_keeps_no_file_open_per_session(tmp_path: Path) -> None:
    pytest.importorskip("s3fs", reason="s3fs is not installed (pip install '.[s3]')")
    ws = Workspace(tmp_path / "ws", "option").ensure_layout()
    ws.config_path.write_text('sessions:\n  url: "s3://bucket-x/p"\n')
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=f"http://127.0.0.1:{_free_port()}")
    r = subprocess.run([sys.executable, "-c", IMPORT_DOWN, str(ws.root)], capture_output=True, text=True, env=env,
                       cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["report"]["not_uploaded"] == 300 and out["report"]["error"], out
    assert out["journals"] == 300 and out["waiting"] == 300 and out["fds"] < 50, out


def test_mark_waiting_keeps_what_the_journal_records(ws: Workspace, s3_env: str) -> None:
    a = sid(0)
    store = ObjectStore(s3_env, ws.sessions_dir, part_lines=1)
    store.append(a, line(a, 0))  # one part up
    store.close()
    before = _journal(ws.sessions_dir, a)
    store.mark_waiting(a)
    assert _journal(ws.sessions_dir, a) == before and json.loads(before)["parts"] == 1
    assert store._pending == {}  # nothing held


# --- 2: the journal never records a guess, and is one whole record --------------------------------

def test_an_unreadable_journal_and_a_failed_resume_keep_the_bucket_a_prefix(
        ws: Workspace, s3_env: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    a = sid(0)
    writer = ObjectStore(s3_env, ws.sessions_dir, part_lines=2)
    for i in range(6):  # 3 parts up
        writer.append(a, line(a, i))
    writer.append(a, line(a, 6, "session.end"))
    for s in list(writer._pending):  # the writer is killed: its journal let go, not sealed
        writer._release(s)
    journal = ws.sessions_dir / PENDING / a
    journal.write_bytes(b'{"parts": 3, "bytes": 0, "sealed": true}se}')  # what a kill mid-record left before

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    assert list(ObjectStore(s3_env, ws.sessions_dir).resume().failed) == [a]
    record = json.loads(journal.read_bytes())
    assert record == {"sealed": True}  # the parts are not known: none recorded

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    assert ObjectStore(s3_env, ws.sessions_dir).resume().sent == [a]
    local = writer.buffer_path(a).read_bytes()
    assert _remote(s3_env, a) == local  # not 11 lines: the bucket's 3 parts were listed, the 4th sent
    assert [(s.session_id, s.sealed) for s in writer.list(StoreFilter())] == [(a, True)]
    assert pending_ids(ws.sessions_dir) == []


def test_a_journal_record_is_one_fixed_width_write(ws: Workspace, s3_env: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def no_truncate(fd: int, length: int) -> None:
        raise AssertionError("a record is never truncated: a kill between two writes would leave garbage")

    monkeypatch.setattr(os, "ftruncate", no_truncate)
    a = sid(0)
    store = ObjectStore(s3_env, ws.sessions_dir, part_lines=1)
    for i in range(3):
        store.append(a, line(a, i))
        data = _journal(ws.sessions_dir, a)
        assert len(data) == RECORD_WIDTH and json.loads(data)["parts"] == i + 1
    store.close()


# --- 3: a killed run's journal is let go ------------------------------------------------------------

def test_a_killed_run_s_journal_is_dropped_once_all_up_and_idle(ws: Workspace, s3_env: str, moto_endpoint: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    a = sid(0)
    _killed_run(s3_env, ws.sessions_dir, a)  # 6 lines local, 4 in the bucket, no session.end
    store = ObjectStore(s3_env, ws.sessions_dir)
    assert store.resume().sent == [a]
    assert pending_ids(ws.sessions_dir) == [a]  # just written: kept
    path = store.buffer_path(a)
    old = time.time() - IDLE_S - 60
    os.utime(path, (old, old))
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")  # nothing to send: no request
    resumed = ObjectStore(s3_env, ws.sessions_dir).resume()
    assert (resumed.sent, resumed.failed) == ([], {}) and pending_ids(ws.sessions_dir) == []
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    assert _remote(s3_env, a) == path.read_bytes()  # readable in the bucket, whole
    assert [s.sealed for s in store.list()] == [False]  # not sealed: its run never ended


def test_counting_waiting_uploads_drops_journals_of_gone_files_and_idle_killed_runs(ws: Workspace) -> None:
    from dreamcli.portability.arrivals import waiting_uploads

    gone, idle, recent, unsent = sid(0, 1), sid(0, 2), sid(0, 3), sid(0, 4)
    store = ObjectStore("memory://x", ws.sessions_dir)
    old = time.time() - IDLE_S - 60
    for s in (idle, recent, unsent):
        path = session_path(ws, s)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(line(s, 0, "session.start") + line(s, 1))
        up = path.stat().st_size if s != unsent else 0
        (ws.sessions_dir / PENDING).mkdir(exist_ok=True)
        (ws.sessions_dir / PENDING / s).write_text(json.dumps({"parts": 1, "bytes": up, "sealed": False}))
        if s == idle:
            os.utime(path, (old, old))
    store.mark_waiting(gone)  # its file is not here
    waiting = waiting_uploads(ws, "memory://x")
    assert (waiting.waiting, waiting.busy) == ([unsent], [])
    assert pending_ids(ws.sessions_dir) == [recent, unsent]


# --- 4: this machine's disk errors are not the store's ---------------------------------------------

def test_a_local_read_error_is_an_os_error_not_the_store_s(ws: Workspace, s3_env: str) -> None:
    a = sid(0)
    writer = ObjectStore(s3_env, ws.sessions_dir, part_lines=100)
    writer.append(a, line(a, 0))
    path = writer.buffer_path(a)
    path.unlink()
    path.mkdir()  # the buffer cannot be read: a disk error, not an S3 one
    with pytest.raises(IsADirectoryError):
        writer.flush(a)
    assert writer._retry_at == 0.0  # no backoff: the store did not fail
    with pytest.raises(IsADirectoryError):
        writer.close()
    resumed = ObjectStore(s3_env, ws.sessions_dir).resume()
    assert list(resumed.failed) == [a] and resumed.failed[a].startswith("IsADirectoryError"), resumed.failed


# --- 5: a secret in AWS_ENDPOINT_URL is never said --------------------------------------------------

@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:1/?token=hunter2", "http://AKIA:hunter2@127.0.0.1:1/",
                                      "http://127.0.0.1:1/p?token=hunter2"])
def test_a_secret_in_the_endpoint_is_never_said(ws: Workspace, s3_env: str, endpoint: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.portability.arrivals import Publisher

    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    with pytest.raises(DreamError) as e:
        ObjectStore(s3_env, ws.sessions_dir).list()
    assert "hunter2" not in str(e.value) and e.value.exit_code == 4, e.value

    ws.config_path.write_text(f"sessions:\n  url: {json.dumps(s3_env)}\n")
    a = sid(0)
    path = session_path(ws, a)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(line(a, 0, "session.start") + line(a, 1, "session.end"))
    pub = Publisher(ws)
    pub([a])
    report = pub.finish()
    assert report is not None and report.not_uploaded
    assert "hunter2" not in json.dumps(report.to_json()) and "hunter2" not in (report.warning() or "")
    assert "hunter2" not in (ws.logs_dir / "store.log").read_text()


def test_urls_in_a_driver_s_message_are_redacted() -> None:
    text = 'Custom endpoint `http://h:1/?token=s` was not valid; "https://u:p@h/x" failed; s3://b/k stays'
    assert redacted_urls(text) == ('Custom endpoint `http://h:1/?***` was not valid; "https://***@h/x" failed; '
                                   's3://b/k stays')
