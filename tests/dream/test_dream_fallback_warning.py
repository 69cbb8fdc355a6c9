"""A dream whose model answers were invalid says so (acceptance defect: the model replied with plain text,
every batch fell back to templates, and the dream printed "… 2 model calls", exit 0, with report.md saying
"dreamed with model X": a reviewer or a cron log took the entries for model-written). One warning line on
stderr, with -q and --json too, names how many batches fell back and why; report.md says the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.samples import install_samples
from dreamcli.testing import FakeAnthropic, RecordedRequest, text_reply
from dreamcli.workspace.home import Workspace
from tests.dream.test_dream_model import adds_all

WHY = "(the model's answer had no valid propose_edits call)"


def _home(tmp_path: Path) -> Path:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    install_samples(ws)
    (ws.root / "config.yaml").write_text("limits:\n  model_retries: 0\n")
    return ws.root


def _dream(home: Path, *args: str) -> Any:
    r = CliRunner().invoke(app, ["--home", str(home), "dream", *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


@pytest.mark.parametrize("flags", [[], ["-q"], ["--json"]])
def test_every_batch_falling_back_is_one_warning_and_in_the_report(tmp_path: Path, fake_anthropic: FakeAnthropic,
                                                                   flags: list[str]) -> None:
    fake_anthropic.responder = lambda req: text_reply("Done. I found 3 clauses in each file.")
    home = _home(tmp_path)
    r = _dream(home, *flags)
    (dream_dir,) = (home / "dreams").iterdir()
    stats = json.loads((dream_dir / "dream.json").read_text())["stats"]
    batches = stats["model_batches"]
    assert batches == 2 and stats["model_fallbacks"] == batches  # 11 candidates, 8 a batch
    line = (f"{batches} of {batches} batches of candidates fell back to template text {WHY}: their entries "
            "were written from templates, not by the model")
    assert _warnings(r.stderr) == [f"warning: {line}"]
    if flags == ["-q"]:
        assert r.stderr.splitlines() == [f"warning: {line}"]
    if flags == ["--json"]:
        assert json.loads(r.stdout)["stats"]["model_fallbacks"] == batches
    report = (dream_dir / "report.md").read_text()
    assert f"**{line}.**" in report.splitlines()


def test_one_batch_of_two_falling_back_is_counted(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    def answer(req: RecordedRequest) -> Any:
        return adds_all(req) if "[c1]" in json.dumps(req.messages[0]["content"]) else text_reply("no idea")

    fake_anthropic.responder = answer
    r = _dream(_home(tmp_path), "--json")
    assert json.loads(r.stdout)["stats"]["model_fallbacks"] == 1
    assert _warnings(r.stderr) == [f"warning: 1 of 2 batches of candidates fell back to template text {WHY}: "
                                   "their entries were written from templates, not by the model"]


def test_no_warning_when_the_model_wrote_every_batch(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.responder = adds_all
    home = _home(tmp_path)
    r = _dream(home)
    assert _warnings(r.stderr) == []
    (dream_dir,) = (home / "dreams").iterdir()
    assert json.loads((dream_dir / "dream.json").read_text())["stats"]["model_batches"] == 2
    assert "fell back" not in (dream_dir / "report.md").read_text()


def test_the_sentence_reads_an_older_dream_without_the_batch_count() -> None:
    from dreamcli.dream.report import fallback_line

    assert fallback_line({"model_fallbacks": 0, "model_batches": 3}) is None
    assert fallback_line({}) is None
    one = fallback_line({"model_fallbacks": 1, "model_batches": 1})
    assert one is not None and one.startswith("1 of 1 batch of candidates fell back")
    older = fallback_line({"model_fallbacks": 2})
    assert older is not None and older.startswith("2 batches of candidates fell back to template text")
