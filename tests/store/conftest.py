"""Fixtures of the store conformance suite: a moto S3 server on 127.0.0.1 (a free port, started once
per test process), and one store of each backend over the same `ws` fixture."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreamcli.workspace.home import Workspace

S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed (pip install '.[test]')")
    pytest.importorskip("s3fs", reason="s3fs is not installed (pip install '.[s3]')")
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The standard AWS variables pointing at the moto server; returns a new empty bucket's URL."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    for k, v in S3_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    import s3fs

    bucket = f"dreamcli-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(skip_instance_cache=True).mkdir(bucket)
    return f"s3://{bucket}/team/sessions"


@pytest.fixture(params=["local", "file", "s3"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """The workspace's directory; object storage on a shared volume (file://); S3 on moto."""
    if request.param == "local":
        return None
    if request.param == "file":
        pytest.importorskip("fsspec", reason="fsspec is not installed (pip install '.[s3]')")
        return (tmp_path / "shared-volume").as_uri()
    return str(request.getfixturevalue("s3_env"))


@pytest.fixture
def store_ws(ws: Workspace) -> Workspace:
    return ws
