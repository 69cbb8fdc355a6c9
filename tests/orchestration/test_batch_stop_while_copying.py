"""A batch stopped while a task still copies its workdir: that task wrote no session, so the last line does
not count it among the sessions closed with status interrupted (it said "1 session(s) closed" before)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from dreamcli.agent import RunOptions
from dreamcli.agent.spec import TaskSpec
from dreamcli.config import Config
from dreamcli.errors import Interrupted
from dreamcli.orchestration import batch as batch_mod
from dreamcli.orchestration.batch import prepare_batch, run_batch
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace


@pytest.mark.slow
def test_a_task_stopped_while_copying_is_no_closed_session(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dreamcli.agent.scratch as scratch

    copying, release = threading.Event(), threading.Event()

    def slow_copy(ws_: Any, spec: TaskSpec) -> TaskSpec:
        copying.set()
        release.wait(20)  # a big tree, still being copied when the batch is stopped
        return spec

    monkeypatch.setattr(scratch, "with_fresh_workdir", slow_copy)
    monkeypatch.setattr(batch_mod, "LEAD_GRACE_S", 0.2)
    (tmp_path / "wd").mkdir()
    spec = TaskSpec(prompt="Copy and work.", name="big", workdir=tmp_path / "wd", tools=("read",), copy_workdir=True)
    cancel = threading.Event()
    threading.Thread(target=lambda: (copying.wait(20), cancel.set()), daemon=True).start()
    try:
        with pytest.raises(Interrupted) as info:
            run_batch(ws, Config(), prepare_batch(ws, Config(), [spec]), RunOptions(yes=True), parallel=1,
                      client=object(), cancel=cancel)
    finally:
        release.set()
    (run,) = info.value.runs  # type: ignore[attr-defined]
    assert run.status == "interrupted" and run.session_id is None
    assert str(info.value) == "interrupted; 0 session(s) closed with status interrupted"
    assert fake_anthropic.requests == []
