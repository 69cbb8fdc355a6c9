"""Sessions that reach the bucket with an id below the dream's watermark (a long run that uploads nothing
before its end while a shorter one, started later, is dreamed; a runner whose clock is ahead) are dreamed
once by the next dream, within the lookback window of docs/scaling.md; none is dreamed twice, the listing
starts at the window and the watermark's `recent` stays small (S3 served by moto on 127.0.0.1)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.dream.sources import Bucket
from dreamcli.dream.watermark import LOOKBACK_MS, Watermark
from dreamcli.ids import ulid_at, ulid_time_ms
from dreamcli.sessions.writer import SessionWriter
from dreamcli.store.base import StoreFilter
from dreamcli.store.objects import ObjectStore
from dreamcli.workspace.home import Workspace
from tests.store.conftest import moto_endpoint, s3_env  # noqa: F401 (fixtures)

runner = CliRunner()
MIN = 60_000


def _init(root: Path, url: str) -> Workspace:
    r = runner.invoke(app, ["--home", str(root), "init", "--sessions-url", url], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return Workspace(root=root, source="option")


def _run(runner_ws: Workspace, url: str, ms: int, n: int) -> str:
    """A finished run on another machine, uploaded at its end (fewer lines than part_lines): its id holds
    `ms`, its runner's clock at its start."""
    sid = ulid_at(ms, bytes([n]) * 10)
    w = SessionWriter(runner_ws, session_id=sid)
    w.start(task={"name": f"task-{n}", "prompt": "read the contract"}, model=None, workdir="/w")
    w.message("user", [{"type": "text", "text": "read the contract"}])
    w.end("completed", totals={"turns": 1})
    ObjectStore(url, runner_ws.sessions_dir).seal(sid)  # the buffer is the session file: one part, sealed
    return sid


def _dream(root: Path) -> dict[str, Any]:
    r = runner.invoke(app, ["--home", str(root), "dream", "--offline", "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _read(root: Path) -> int:
    out = _dream(root)
    return 0 if out["status"] == "nothing_new" else int(out["inputs"]["sessions"])


def _mark(root: Path) -> dict[str, Any]:
    return json.loads((root / "state" / "dream" / "default" / "watermark.json").read_text())


def test_a_long_run_uploaded_after_a_shorter_one_was_dreamed_is_dreamed_once(tmp_path: Path,
                                                                                s3_env: str) -> None:  # noqa: F811
    wl, ws_ = (_init(tmp_path / name, s3_env) for name in ("wl", "ws"))
    wd2 = tmp_path / "wd2"
    _init(wd2, s3_env)
    now = int(time.time() * 1000)
    short = _run(ws_, s3_env, now - 14_500, 2)  # started 1.5 s after the long run, finished first
    assert _read(wd2) == 1 and _mark(wd2)["last_session_id"] == short
    long = _run(wl, s3_env, now - 16_000, 1)  # reaches the bucket now, its id below the watermark
    assert long < short
    assert _read(wd2) == 1  # the bug: "Nothing new to dream about" forever
    assert _read(wd2) == 0  # and never twice
    mark = _mark(wd2)
    assert mark["last_session_id"] == short and mark["sessions_dreamed"] == 2
    assert mark["recent"] == sorted([long, short])


def test_a_runner_whose_clock_is_ahead_hides_no_session(tmp_path: Path, s3_env: str) -> None:  # noqa: F811
    ahead, steady = (_init(tmp_path / name, s3_env) for name in ("ahead", "steady"))
    dreamer = tmp_path / "dreamer"
    _init(dreamer, s3_env)
    now = int(time.time() * 1000)
    early = _run(ahead, s3_env, now + 3 * 24 * 60 * MIN, 1)  # a clock three days ahead
    assert _read(dreamer) == 1 and _mark(dreamer)["last_session_id"] == early
    _run(steady, s3_env, now, 2)
    _run(steady, s3_env, now + 1000, 3)
    assert _read(dreamer) == 2
    assert _read(dreamer) == 0
    too_late = now - LOOKBACK_MS - MIN  # the documented window: older late arrivals wait for --all
    _run(steady, s3_env, too_late, 4)
    assert _read(dreamer) == 0


def test_the_listing_starts_at_the_window_and_recent_stays_within_it(tmp_path: Path,
                                                                     s3_env: str) -> None:  # noqa: F811
    w = _init(tmp_path / "w", s3_env)
    dreamer = tmp_path / "dreamer"
    _init(dreamer, s3_env)
    day = 24 * 60 * MIN
    base = int(time.time() * 1000) - 10 * day
    ids = [_run(w, s3_env, base + i * (day + MIN), i) for i in range(3)]  # a day and a minute apart
    assert _read(dreamer) == 3
    mark = _mark(dreamer)
    assert mark["recent"] == ids[-1:] and mark["recent_floor"] < ids[-1]  # the older two are past the window
    asked: list[StoreFilter] = []
    listed = Bucket.list

    def spy(self: Bucket, flt: StoreFilter) -> Any:
        asked.append(flt)
        return listed(self, flt)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Bucket, "list", spy)
        assert _read(dreamer) == 0
    assert [f.after for f in asked] == [ulid_at(ulid_time_ms(ids[-1]) - LOOKBACK_MS, b"")]


def test_a_watermark_kept_before_the_window_existed_dreams_nothing_again(tmp_path: Path,
                                                                         s3_env: str) -> None:  # noqa: F811
    w = _init(tmp_path / "w", s3_env)
    dreamer = tmp_path / "dreamer"
    _init(dreamer, s3_env)
    now = int(time.time() * 1000)
    ids = [_run(w, s3_env, now - (5 - i) * MIN, i) for i in range(3)]
    assert _read(dreamer) == 3
    path = dreamer / "state" / "dream" / "default" / "watermark.json"
    old = {k: v for k, v in _mark(dreamer).items() if k not in ("recent", "recent_floor")}
    path.write_text(json.dumps(old))  # as a dream of the previous version left it
    assert _read(dreamer) == 0  # its sessions are not in `recent`, and not read again
    new = _run(w, s3_env, now, 9)
    assert _read(dreamer) == 1
    mark = _mark(dreamer)
    assert mark["recent_floor"] == ids[-1] and mark["recent"] == [new]  # the window starts at the old watermark


def test_recent_joins_what_was_read_and_leaves_out_what_was_deferred() -> None:
    now = int(time.time() * 1000)
    a, b, c = (ulid_at(now - 10 + i, bytes([i]) * 10) for i in range(3))
    old = ulid_at(now - 10 - LOOKBACK_MS - MIN, b"\x09" * 10)
    mark = Watermark(playbook="default", last_session_id=c, recent=[old, a], deferred=[b], selected_next=[b, c])
    mark.settle_recent(now)
    assert mark.recent == [a, c] and mark.recent_floor == ulid_at(now - 8 - LOOKBACK_MS, b"")
    assert mark.lookback_after() == mark.recent_floor and Watermark(playbook="x").lookback_after() is None
    ahead = ulid_at(now + 3 * 24 * 60 * MIN, b"\x07" * 10)  # a runner's clock days ahead: the floor keeps to now
    mark = Watermark(playbook="default", last_session_id=ahead, selected_next=[ahead])
    mark.settle_recent(now)
    assert mark.recent_floor == ulid_at(now - LOOKBACK_MS, b"") and mark.recent == [ahead]
