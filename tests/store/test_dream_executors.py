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


def proposal_bytes(corpus: Path, tmp_path: Path, executor: MapExecutor | None) -> dict[str, bytes]:
    root = tmp_path / f"ws-{uuid.uuid4().hex}"
    shutil.copytree(corpus, root)
    ws = Workspace(root=root, source="env")
    with use_executor(executor):
        result = run_dream(ws, Config(), DreamOptions(offline=True))
    assert result.path is not None and result.dream_id
    out = {}
    for f in sorted(result.path.rglob("*")):
        if f.is_file():
            data = f.read_bytes().replace(result.dream_id.encode(), b"DREAM")
            data = re.sub(rb'"(duration_s|seconds)": [0-9.]+', rb'"\1": 0', STAMP.sub(b"TS", data))
            out[str(f.relative_to(result.path))] = data
    return _number_entries(out)


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
