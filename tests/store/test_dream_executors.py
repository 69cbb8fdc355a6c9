"""The dream's map on 1 worker, a local pool and Ray gives byte-identical proposals (docs/scaling.md)."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dreamcli.config import Config
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.executors import LocalExecutor, MapExecutor, RayExecutor, make_executor, use_executor
from dreamcli.errors import UsageError
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.workspace.home import Workspace

STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
ENTRY = re.compile(rb"(?:pb|mem)-[0-9a-z]{8}")  # new entries get fresh random ids: numbered by first appearance


def _number_entries(files: dict[str, bytes]) -> dict[str, bytes]:
    seen: dict[bytes, bytes] = {}

    def number(m: re.Match[bytes]) -> bytes:
        return seen.setdefault(m.group(0), b"id-#%d" % len(seen))

    return {name: ENTRY.sub(number, data) for name, data in sorted(files.items())}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus") / "home"
    generate(Workspace(root=root, source="env").ensure_layout(),
             GenConfig(sessions=90, seed=11, start=datetime(2026, 10, 1, tzinfo=UTC)))
    return root


def dream_files(result: Any) -> dict[str, bytes]:
    """A dream's files, with what differs between two equal dreams masked (its id, times, new ids)."""
    assert result.path is not None and result.dream_id
    out = {}
    for f in sorted(result.path.rglob("*")):
        if f.is_file():
            data = f.read_bytes().replace(result.dream_id.encode(), b"DREAM")
            data = re.sub(rb'"(duration_s|seconds)": [0-9.]+', rb'"\1": 0', STAMP.sub(b"TS", data))
            out[str(f.relative_to(result.path))] = data
    return _number_entries(out)


def proposal_bytes(corpus: Path, tmp_path: Path, executor: MapExecutor | None) -> dict[str, bytes]:
    root = tmp_path / f"ws-{uuid.uuid4().hex}"
    shutil.copytree(corpus, root)
    ws = Workspace(root=root, source="env")
    with use_executor(executor):
        result = run_dream(ws, Config(), DreamOptions(offline=True))
    return dream_files(result)


class InOrderFake:
    """A stand-in cluster: runs the tasks in reverse (as a cluster might finish them), returns in order."""

    workers = 3

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        done = {i: fn(*args) for i, args in reversed(list(enumerate(tasks)))}
        return iter([done[i] for i in range(len(tasks))])


def test_one_worker_a_pool_and_a_fake_cluster_propose_the_same_bytes(corpus: Path, tmp_path: Path) -> None:
    one = proposal_bytes(corpus, tmp_path, LocalExecutor(1))
    assert any(name.startswith("proposal") for name in one)
    assert proposal_bytes(corpus, tmp_path, LocalExecutor(2)) == one
    assert proposal_bytes(corpus, tmp_path, InOrderFake()) == one
    assert proposal_bytes(corpus, tmp_path, None) == one  # no executor: chosen by size, as before


@pytest.mark.slow
def test_ray_in_local_mode_proposes_the_same_bytes(corpus: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]')")
    try:
        executor = RayExecutor(None, 2, ray_module=ray)
        assert proposal_bytes(corpus, tmp_path, executor) == proposal_bytes(corpus, tmp_path, LocalExecutor(1))
    finally:
        ray.shutdown()


def test_make_executor_choices() -> None:
    assert make_executor(None, None) is None
    assert make_executor("local", 3).workers == 3  # type: ignore[union-attr]
    with pytest.raises(UsageError):
        make_executor("spark", None)


def test_the_dream_cli_takes_workers_and_an_executor(corpus: Path, tmp_path: Path, no_model: None) -> None:
    import json

    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    root = tmp_path / "home"
    shutil.copytree(corpus, root)
    r = CliRunner().invoke(app, ["--home", str(root), "dream", "--offline", "--dry-run", "--workers", "2",
                                 "--executor", "local", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["inputs"]["sessions"] == 90
    bad = CliRunner().invoke(app, ["--home", str(root), "dream", "--offline", "--executor", "spark"])
    assert bad.exit_code == 2


class Recording:
    """In this process, in order; keeps the tasks it was given (to see how the map names sessions)."""

    workers = 2

    def __init__(self) -> None:
        self.tasks: list[tuple[Any, ...]] = []

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        self.tasks.extend(tasks)
        return (fn(*args) for args in tasks)


def _runner_uploads(corpus: Path, url: str, runner: Path) -> list[str]:
    """What runners on other machines leave in the bucket: every session of `corpus`, sealed."""
    from dreamcli.store.objects import ObjectStore

    store = ObjectStore(url, runner / "buffer", part_lines=40)
    ids = []
    for path in sorted((corpus / "sessions").rglob("*.jsonl")):
        with open(path, "rb") as f:
            for line in f:
                store.append(path.stem, line)
        store.seal(path.stem)
        ids.append(path.stem.upper())
    return ids


def _bucket_workspace(corpus: Path, tmp_path: Path, url: str) -> Path:
    """The dreaming machine: the corpus's grades, memory and playbooks, and no session file at all."""
    root = tmp_path / f"dreamer-{uuid.uuid4().hex}"
    shutil.copytree(corpus, root, ignore=shutil.ignore_patterns("sessions", "sessions-index.sqlite*"))
    (root / "sessions").mkdir()
    return root


def proposal_from_bucket(root: Path, url: str, executor: MapExecutor | None) -> dict[str, bytes]:
    ws = Workspace(root=root, source="env")
    config = Config.model_validate({"sessions": {"url": url}})
    work = root.parent / f"copy-{uuid.uuid4().hex}"
    shutil.copytree(root, work)
    with use_executor(executor):
        result = run_dream(Workspace(root=work, source="env"), config, DreamOptions(offline=True))
    assert not list(ws.sessions_dir.rglob("*.jsonl")) and not list((work / "sessions").rglob("*.jsonl"))  # no copy
    return dream_files(result)


def test_the_map_reads_sessions_straight_from_the_bucket(corpus: Path, tmp_path: Path, s3_env: str) -> None:
    ids = _runner_uploads(corpus, s3_env, tmp_path / "runner")
    root = _bucket_workspace(corpus, tmp_path, s3_env)
    local = proposal_bytes(corpus, tmp_path, LocalExecutor(1))  # the same sessions as local files
    recording = Recording()
    assert proposal_from_bucket(root, s3_env, recording) == local
    from dreamcli.dream.sources import StoreRef

    named = [source for task in recording.tasks for source in task[0]]
    assert sorted(s.session_id for s in named if isinstance(s, StoreRef)) == ids  # (store URL, id), no path
    assert {s.url for s in named} == {s3_env.rstrip("/")}
    assert proposal_from_bucket(root, s3_env, LocalExecutor(1)) == local
    assert proposal_from_bucket(root, s3_env, LocalExecutor(2)) == local  # pool processes read the bucket too


def test_a_local_file_with_more_than_the_bucket_is_read_locally(corpus: Path, tmp_path: Path, s3_env: str) -> None:
    from dreamcli.dream.sources import Bucket, StoreRef
    from dreamcli.store.base import StoreFilter

    ids = _runner_uploads(corpus, s3_env, tmp_path / "runner")
    ws = Workspace(root=shutil.copytree(corpus, tmp_path / "mine"), source="env")
    bucket = Bucket(ws, s3_env)
    assert [r.session_id for r in bucket.list(StoreFilter())] == ids
    first, second = sorted(ws.sessions_dir.rglob("*.jsonl"))[:2]
    with open(second, "ab") as f:  # a tail this machine has not uploaded yet
        f.write(b'{"v":1,"type":"message","ts":"2026-10-01T00:00:00.000Z","role":"user","content":"later"}\n')
    preferred = bucket.prefer(first)
    assert isinstance(preferred, StoreRef) and preferred.size == first.stat().st_size
    assert bucket.prefer(second) == second


@pytest.mark.slow
def test_ray_reads_sessions_straight_from_the_bucket(corpus: Path, tmp_path: Path, s3_env: str) -> None:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]')")
    _runner_uploads(corpus, s3_env, tmp_path / "runner")
    root = _bucket_workspace(corpus, tmp_path, s3_env)
    local = proposal_bytes(corpus, tmp_path, LocalExecutor(1))
    try:  # started after s3_env: the workers inherit the AWS variables pointing at moto
        executor = RayExecutor(None, 2, ray_module=ray)
        assert proposal_from_bucket(root, s3_env, executor) == local
    finally:
        ray.shutdown()


def test_the_local_pool_runs_tasks_in_this_process_from_the_back() -> None:
    import os

    results = list(LocalExecutor(2).map(_pid_of, [(i,) for i in range(12)]))
    assert [i for i, _ in results] == list(range(12))  # in order, whoever ran them
    pids = {pid for _, pid in results}
    assert os.getpid() in pids and len(pids) == 2  # this process took some, one pool process the others
    mine = [i for i, pid in results if pid == os.getpid()]
    assert mine == list(range(min(mine), 12))  # from the back, contiguous


def _pid_of(i: int) -> tuple[int, int]:
    import os
    import time

    time.sleep(0.05)
    return i, os.getpid()


def test_a_cron_dream_over_a_bucket_is_never_told_nothing_is_new(corpus: Path, tmp_path: Path,
                                                                 s3_env: str) -> None:
    """The cron fast path sees local files only: with `sessions.url` set, sessions other machines
    uploaded after the watermark must still be dreamed over."""
    import json

    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    _runner_uploads(corpus, s3_env, tmp_path / "runner")
    root = _bucket_workspace(corpus, tmp_path, s3_env)
    (root / "config.yaml").write_text(f"sessions:\n  url: {s3_env}\n")
    mark = root / "state" / "dream" / "default" / "watermark.json"
    mark.parent.mkdir(parents=True, exist_ok=True)
    grades = root / "grades" / "grades.jsonl"
    mark.write_text(json.dumps({"v": 1, "last_session_id": "00000000000000000000000000",
                                "grades_offset": grades.stat().st_size if grades.exists() else 0}))
    r = CliRunner().invoke(app, ["--home", str(root), "dream", "--offline", "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out.get("status") != "nothing_new" and out["inputs"]["sessions"] == 90
