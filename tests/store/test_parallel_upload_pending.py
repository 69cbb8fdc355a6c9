"""`run TASK... --parallel N` says which sessions are not all in the session store, after its summary and also
with --quiet, as a single `run` does (docs/scaling.md, "every run, also each run of `run --parallel`"): the
parallel run printed nothing, and only `--json` had `"upload": "pending"`. The store is "down" here: the
endpoint is a closed port on 127.0.0.1 of a moto-configured environment."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic, text_reply
from dreamcli.workspace.home import Workspace
from tests.store.conftest import _free_port


def _batch(tmp_path: Path, url: str, n: int) -> tuple[Workspace, list[str]]:
    ws = Workspace(tmp_path / "ws", "option").ensure_layout()
    ws.config_path.write_text(f"sessions:\n  url: {json.dumps(url)}\n")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    for i in range(n):
        (tasks / f"t{i}.yaml").write_text(f"name: t{i}\nprompt: Say done {i}.\nworkdir: {tmp_path}\nmax_turns: 2\n")
    return ws, [str(p) for p in sorted(tasks.glob("*.yaml"))]


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", ["--quiet", "--json"])
def test_each_pending_upload_of_a_parallel_run_is_said(tmp_path: Path, s3_env: str, fake_anthropic: FakeAnthropic,
                                                       monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")  # the store is down
    ws, files = _batch(tmp_path, s3_env, 2)
    for _ in files:
        fake_anthropic.expect(text_reply("done"))
    r = CliRunner().invoke(app, ["--home", str(ws.root), "run", *files, "--parallel", "2", "--yes", mode],
                           env={"NO_COLOR": "1", "COLUMNS": "400"})
    assert r.exit_code == 0, r.output
    fix = f"dreamcli --home {ws.root} doctor --fix"
    said = [line for line in r.stderr.splitlines() if line.startswith("warning: upload of session")]
    if mode == "--json":
        sessions = sorted(run["session_id"] for run in json.loads(r.stdout)["runs"] if run["upload"] == "pending")
    else:
        sessions = sorted(re.findall(r"\b[0-9A-HJKMNP-TV-Z]{26}\b", r.stdout))  # the table's session column
    assert len(sessions) == 2, r.stdout
    assert sorted(said) == [f"warning: upload of session {sid} pending: `{fix}` sends it to the session store"
                            for sid in sessions], r.stderr
    assert r.stderr.rstrip().endswith(said[-1]), r.stderr  # after the summary line


def test_many_pending_uploads_are_one_line() -> None:
    from types import SimpleNamespace

    from dreamcli.ui.parallel_view import pending_upload_lines

    runs = [SimpleNamespace(session_id=f"S{i:02d}", result=SimpleNamespace(upload="pending")) for i in range(12)]
    runs.append(SimpleNamespace(session_id="SEALED", result=SimpleNamespace(upload="sealed")))
    assert pending_upload_lines(runs, "dreamcli doctor --fix") == [  # type: ignore[arg-type]
        "upload of 12 sessions pending (S00, S01, S02, …): `dreamcli doctor --fix` sends them to the session store"]
