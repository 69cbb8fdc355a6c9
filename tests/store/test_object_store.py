"""What only object storage has: parts, a kill during upload, resuming, the writer's upload sink, URLs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dreamcli.config import Config
from dreamcli.errors import UsageError
from dreamcli.sessions.paths import session_path
from dreamcli.sessions.writer import SessionWriter
from dreamcli.store.base import StoreFilter
from dreamcli.store.objects import ObjectStore
from dreamcli.store.sink import session_sink
from dreamcli.store.url import check_url, open_store
from dreamcli.workspace.home import Workspace
from tests.store.test_conformance import sid

WRITER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from dreamcli.store.objects import ObjectStore
    store = ObjectStore(sys.argv[1], Path(sys.argv[2]), part_lines=1)
    sid = sys.argv[3]
    i = 0
    while True:  # every append uploads one part: the kill lands during an upload
        store.append(sid, (json.dumps({"v": 1, "type": "message", "seq": i, "pad": "x" * 5000}) + "\\n").encode())
        i += 1
""")


@pytest.mark.slow
def test_a_kill_during_upload_loses_only_the_unuploaded_tail(ws: Workspace, s3_env: str, tmp_path: Path) -> None:
    a = sid(0)
    buffer_dir = tmp_path / "buffer"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, s3_env, str(buffer_dir), a], env=os.environ.copy())
    store = ObjectStore(s3_env, buffer_dir)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(store._part_sizes(a)) < 4:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    parts = store._part_sizes(a)
    assert len(parts) >= 4, "the writer never uploaded"
    buffered = store.buffer_path(a).read_bytes()
    with store.open(a) as f:
        uploaded = f.read()
    assert uploaded.endswith(b"\n") and buffered.startswith(uploaded)  # whole lines, never corrupt
    assert [json.loads(x)["seq"] for x in uploaded.splitlines()] == list(range(len(uploaded.splitlines())))
    assert [s.sealed for s in store.list()] == [False]
    resumed = store.resume()  # the unsent tail (if any) goes up; nothing is sealed
    assert resumed.sent in ([a], []) and not resumed.failed and not resumed.busy
    with store.open(a) as f:
        assert f.read() == buffered[: buffered.rfind(b"\n") + 1]
    store.seal(a)
    assert store.list(StoreFilter(sealed=True))[0].session_id == a


def test_the_writer_uploads_through_its_sink_and_keeps_the_local_file(ws: Workspace, s3_env: str) -> None:
    config = Config.model_validate({"sessions": {"url": s3_env, "part_lines": 2}})
    sink = session_sink(ws, config)
    assert sink.upload is not None
    with SessionWriter(ws, sink=sink) as w:
        w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
        for i in range(4):
            w.message("user", f"hello {i}")
        assert len(sink.upload.store._part_sizes(w.session_id)) == 2  # every 2 lines: whole parts
        w.end("completed")
    local = session_path(ws, w.session_id).read_bytes()  # the local layout is unchanged
    store = open_store(ws, s3_env)
    [listed] = store.list()
    assert (listed.session_id, listed.sealed) == (w.session_id, True)
    with store.open(w.session_id) as f:
        assert f.read() == local


def test_a_failed_upload_never_fails_the_run(ws: Workspace, s3_env: str) -> None:
    config = Config.model_validate({"sessions": {"url": s3_env.replace("s3://", "s3://no-such-bucket-") ,
                                                 "part_lines": 1}})
    with SessionWriter(ws, sink=session_sink(ws, config)) as w:
        w.start(task={"name": "t", "prompt": "p"}, model=None, workdir=None)
        w.end("completed")
    assert session_path(ws, w.session_id).exists()
    assert "failed" in (ws.logs_dir / "store.log").read_text()


def test_local_is_the_default_and_urls_never_carry_secrets(ws: Workspace) -> None:
    assert session_sink(ws, Config()).upload is None  # the local directory: only the index is told
    assert open_store(ws, None).url.startswith("file://")
    assert open_store(ws, "").url.startswith("file://")
    for bad in ("s3://KEY:SECRET@bucket/x", "s3://bucket/x?endpoint_url=http://h", "s3:///x"):
        with pytest.raises(UsageError):
            check_url(bad)
    assert check_url(" s3://bucket/prefix ") == "s3://bucket/prefix"
