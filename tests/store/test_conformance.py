"""One conformance suite for every SessionStore backend: the local directory and S3 (moto on 127.0.0.1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from dreamcli.ids import ulid_at
from dreamcli.store.base import SessionStore, StoreFilter
from dreamcli.store.url import open_store
from dreamcli.workspace.home import Workspace

T0 = int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp() * 1000)
DAY = 86_400_000


def sid(day: int, n: int = 1) -> str:
    return ulid_at(T0 + day * DAY + n, n.to_bytes(10, "big"))


def line(session_id: str, seq: int, type_: str = "message") -> bytes:
    event: dict[str, object] = {"v": 1, "type": type_, "ts": "2026-11-20T12:00:00.000Z", "session_id": session_id,
                                "seq": seq}
    if type_ == "message":
        event.update(role="user", content="é" * seq)
    elif type_ == "session.start":
        event.update(task={"name": "t", "prompt": "p"}, source="synthetic", tags=[], playbooks=[])
    else:
        event.update(status="completed", totals={})
    return (json.dumps(event) + "\n").encode()


def write_session(store: SessionStore, session_id: str, n: int = 5, *, seal: bool = True) -> list[bytes]:
    lines = [line(session_id, 0, "session.start")]
    lines += [line(session_id, i) for i in range(1, n - 1)]
    if seal:
        lines.append(line(session_id, n - 1, "session.end"))
    for raw in lines:
        store.append(session_id, raw)
    if seal:
        store.seal(session_id)
    return lines


@pytest.fixture
def store(ws: Workspace, store_url: str | None) -> SessionStore:
    s = open_store(ws, store_url, part_lines=3)
    assert isinstance(s, SessionStore)
    return s


def test_a_sealed_session_reads_back_exactly(store: SessionStore) -> None:
    a = sid(0)
    lines = write_session(store, a, 8)
    with store.open(a) as f:
        assert f.read() == b"".join(lines)
    [listed] = store.list()
    assert (listed.session_id, listed.sealed, listed.size) == (a, True, sum(map(len, lines)))


def test_an_unsealed_session_reads_as_a_prefix_of_whole_lines(store: SessionStore) -> None:
    a = sid(0)
    lines = write_session(store, a, 8, seal=False)
    with store.open(a) as f:
        data = f.read()
    assert data.endswith(b"\n") and b"".join(lines).startswith(data)
    assert len(data.splitlines()) >= 6  # at most the last part's worth (part_lines=3) is not uploaded yet
    assert [s.session_id for s in store.list(StoreFilter(sealed=False))] == [a]
    assert store.list(StoreFilter(sealed=True)) == []
    store.close()
    store.seal(a)  # closing flushed; sealing later completes it
    with store.open(a) as f:
        assert f.read() == b"".join(lines)


def test_list_filters_and_order(store: SessionStore) -> None:
    ids = [sid(2, 1), sid(0, 1), sid(1, 1), sid(1, 2)]
    for s in ids:
        write_session(store, s, 3)
    assert [s.session_id for s in store.list()] == sorted(ids)
    since = datetime.fromtimestamp((T0 + DAY) / 1000, UTC)
    until = datetime.fromtimestamp((T0 + 2 * DAY) / 1000, UTC)
    assert [s.session_id for s in store.list(StoreFilter(since=since))] == sorted(ids)[1:]
    assert [s.session_id for s in store.list(StoreFilter(since=since, until=until))] == [sid(1, 1), sid(1, 2)]
    assert [s.session_id for s in store.list(StoreFilter(after=sid(1, 1)))] == [sid(1, 2), sid(2, 1)]


def test_watermark_is_the_greatest_sealed_id(store: SessionStore) -> None:
    assert store.watermark() is None
    write_session(store, sid(0))
    write_session(store, sid(1))
    write_session(store, sid(2), seal=False)
    mark = store.watermark()
    assert mark == sid(1)
    write_session(store, sid(3))
    assert [s.session_id for s in store.list(StoreFilter(after=mark, sealed=True))] == [sid(3)]


def test_unknown_sessions_and_torn_lines_are_refused(store: SessionStore) -> None:
    with pytest.raises(KeyError):
        store.open(sid(5))
    for bad in (b"no newline", b"two\nlines\n"):
        with pytest.raises(ValueError):
            store.append(sid(0), bad)


def test_seal_is_idempotent(store: SessionStore) -> None:
    a = sid(0)
    lines = write_session(store, a, 4)
    store.seal(a)
    with store.open(a) as f:
        assert f.read() == b"".join(lines)
    assert [s.sealed for s in store.list()] == [True]
