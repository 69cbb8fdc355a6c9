"""Long store work shows progress on a terminal, as `dream` does, and nothing on a pipe or with --json. Before:
`doctor --fix` sending 3,000 waiting sessions was silent for 86 s, and the Parquet export of 3,000 bucket
sessions for about 50 s."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli import doctor, modelreach
from dreamcli.cli.app import app
from dreamcli.redaction import Redactor
from dreamcli.testing.synthetic import GenConfig, generate
from dreamcli.ui import console
from dreamcli.workspace.home import Workspace

LIVE, SHOWN = "\x1b[?25l", "\x1b[?25h"  # a live display hides the cursor while it redraws, and shows it after


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _stderr(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO) -> io.StringIO:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "120")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(console, "_cache", {})
    return stream


# --- export sessions --format parquet ------------------------------------------------------------------


def test_the_export_tells_its_progress_after_each_session(ws: Workspace, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install '.[parquet]')")
    from dreamcli.portability.parquet import export_parquet

    generate(ws, GenConfig(sessions=3, seed=2, days=2))
    told: list[tuple[int, int]] = []
    result = export_parquet(ws, tmp_path / "lake", Redactor(()),
                            progress=lambda done, total: told.append((done, total)))
    assert result.sessions == 3 and told == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.slow
def test_the_export_draws_a_bar_on_a_terminal_and_nothing_on_a_pipe(ws: Workspace, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install '.[parquet]')")
    from tests.support.run import DREAMCLI
    from tests.support.terminal import in_pty

    generate(ws, GenConfig(sessions=3, seed=2, days=2))
    args = ["--home", str(ws.root), "export", "sessions", "--format", "parquet"]
    env = {**os.environ, "TERM": "xterm-256color"}
    shown = in_pty([DREAMCLI, *args, str(tmp_path / "lake")], columns=100, env=env)
    assert "export: reading sessions" in shown and "3/3" in shown, shown
    for more in ([], ["--json"]):  # a pipe: the summary line only; --json: the document only
        r = CliRunner().invoke(app, [*args, str(tmp_path / f"lake{len(more)}"), *more])
        assert r.exit_code == 0 and "reading sessions" not in r.stderr, r.stderr
    assert json.loads(r.stdout)["sessions"] == 3


# --- doctor --fix --------------------------------------------------------------------------------------


def test_resume_tells_each_session_tried_however_it_went() -> None:
    """Sent, held by another process, failed, or not tried after the store went down: each one counts."""
    from dreamcli.store.uploads import StoreUnavailable, resume_each

    ids = ["a", "b", "c", "d", "e"]

    def one(sid: str) -> tuple[int, bool] | None:
        if sid == "b":
            return None  # another process holds it
        if sid == "c":
            raise StoreUnavailable("the store went away")
        return (10, True)

    told: list[tuple[int, int]] = []
    out = resume_each(iter(ids), one, lambda done, total: told.append((done, total)))
    assert told == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert out.sent == ["a"] and out.busy == ["b"] and sorted(out.failed) == ["c", "d", "e"]


def test_doctor_fix_tells_run_checks_how_the_sending_goes(tmp_path: Path, s3_env: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.store.uploads import mark_waiting

    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])
    monkeypatch.setattr(modelreach, "reach", lambda timeout: modelreach.Reach(0.012))
    ws = Workspace(tmp_path / "ws", "option").ensure_layout()
    ws.config_path.write_text(f"sessions:\n  url: {json.dumps(s3_env)}\n")
    generate(ws, GenConfig(sessions=3, seed=4, days=1))
    ids = sorted(p.stem for p in ws.sessions_dir.rglob("*.jsonl"))
    for sid in ids:
        mark_waiting(ws.sessions_dir, sid)
    told: list[tuple[int, int]] = []
    checks = doctor.run_checks(str(ws.root), fix=True, progress=lambda done, total: told.append((done, total)))
    [uploads] = [c for c in checks if c.name == "uploads"]
    assert uploads.status == "ok" and uploads.detail.startswith("sent 3 sessions"), uploads
    assert told == [(1, 3), (2, 3), (3, 3)], told


def test_the_sending_bar_is_drawn_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.cli.doctor import _sending_bar

    for stream, drawn in ((_Tty(), True), (io.StringIO(), False)):
        _stderr(monkeypatch, stream)
        with contextlib.ExitStack() as bars:
            update = _sending_bar(bars)
            for done in range(4):
                update(done, 3)
            text = stream.getvalue()
            assert (SHOWN in text) is drawn  # gone once all were reached: before the check lines print
            update(3, 3)  # told once more when the sending ends: nothing more drawn
            assert stream.getvalue() == text
        assert (LIVE in text and "doctor --fix: sending 3 sessions waiting to upload" in text) is drawn, repr(text)
        assert drawn or text == ""
