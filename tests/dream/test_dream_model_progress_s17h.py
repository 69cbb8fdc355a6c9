"""`dreamcli dream` says when the model proposes entries: the engine tells its progress callback each
batch (`propose`), the view shows `dreaming: proposing entries (model)` with a seconds counter on a
terminal, in place of the full bar of sessions read, and off one (a cron log) a line at once and one now
and then while the model works."""

from __future__ import annotations

import io
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.config import Config, LimitsConfig
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.sessions.samples import install_samples
from dreamcli.testing import FakeAnthropic, RecordedRequest, tool_reply, tool_use
from dreamcli.ui import console
from dreamcli.ui.dream_view import DreamProgress
from dreamcli.ui.waiting import Waiting
from dreamcli.workspace.home import Workspace

CONFIG = Config(limits=LimitsConfig(model_retries=0))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _ws(tmp_path: Path) -> Workspace:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    install_samples(ws)
    return ws


def _adds(req: RecordedRequest) -> Any:
    first = req.messages[0]["content"]
    cids = re.findall(r"^\[(c\d+)\]", first if isinstance(first, str) else json.dumps(first), re.M)
    ops = [{"op": "add", "candidate": c, "text": f"Lesson {c}.", "reason": "recurs"} for c in cids]
    return tool_reply(tool_use("propose_edits", {"operations": ops}))


@pytest.mark.slow
def test_the_engine_tells_each_model_batch(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    ws = _ws(tmp_path)
    fake_anthropic.responder = _adds
    told: list[tuple[str, int, int]] = []
    result = run_dream(ws, CONFIG, DreamOptions(), progress=lambda *a: told.append(a))
    calls = result.dream["usage"]["model_calls"]
    proposed = [t for t in told if t[0] == "propose"]
    assert calls >= 1 and proposed == [("propose", n, calls) for n in range(calls + 1)], told
    assert told[0][0] == "read" and told.index(proposed[0]) > max(i for i, t in enumerate(told) if t[0] == "read")


def test_offline_tells_no_model_stage(tmp_path: Path) -> None:
    told: list[tuple[str, int, int]] = []
    run_dream(_ws(tmp_path), CONFIG, DreamOptions(offline=True), progress=lambda *a: told.append(a))
    assert told and {t[0] for t in told} == {"read"}


def test_off_a_terminal_a_line_at_once_then_now_and_then(capsys: pytest.CaptureFixture[str]) -> None:
    view = DreamProgress(wait_after_s=0.15, wait_every_s=10)
    view.update("read", 10, 10)  # off a terminal the reading says nothing
    view.update("propose", 0, 2)
    time.sleep(0.3)
    view.update("propose", 1, 2)
    view.update("propose", 2, 2)
    time.sleep(0.2)  # nothing more once the model answered
    view.close()
    said = capsys.readouterr().err.splitlines()
    assert said[0] == "dreaming: proposing entries (model, batch 1 of 2)", said
    assert [re.sub(r" \(\d+s so far\)$", "", s) for s in said[1:]] == ["dreaming: proposing entries (model, "
                                                                        "batch 1 of 2)"], said


def test_on_a_terminal_the_counter_takes_the_bar_s_place(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _Tty()
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(console, "_cache", {})
    view = DreamProgress(wait_every_s=10)
    view.update("read", 360_800, 360_800)
    view.update("propose", 0, 1)
    time.sleep(0.3)
    drawn = stream.getvalue()
    view.update("propose", 1, 1)
    view.close()
    assert view.live and "dreaming: reading sessions" in drawn
    assert drawn.endswith("\r\x1b[K… dreaming: proposing entries (model): 0s"), repr(drawn[-200:])
    assert stream.getvalue().endswith("\r\x1b[K")  # cleared once the model answered


@pytest.mark.slow
def test_dream_piped_says_the_model_stage_before_it_answers(tmp_path: Path, fake_anthropic: FakeAnthropic,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end (CliRunner's stderr is no terminal): the model's slow first answer is said while it lasts."""
    init = Waiting.__init__

    def quick(self: Waiting, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.after_s, self.every_s = 0.2, 30

    monkeypatch.setattr(Waiting, "__init__", quick)
    ws = _ws(tmp_path)
    fake_anthropic.latency = 0.6
    fake_anthropic.responder = _adds
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream"])
    assert r.exit_code == 0, r.output
    said = r.stderr.splitlines()
    assert said[0].startswith("dreaming: proposing entries (model"), said
    assert re.fullmatch(r"dreaming: proposing entries \(model.*\) \(\d+s so far\)", said[1]), said
    assert any(line.startswith("Read ") and "model calls" in line for line in said), said
