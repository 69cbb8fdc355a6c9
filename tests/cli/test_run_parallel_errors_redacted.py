"""`run TASK... --parallel N`: an error that ends a task before its session starts (a playbook that does not
parse, quoting its line) or an internal one is redacted with the run's redactor on the live stderr lines
and in the summary, as `--json` and the session logs are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import dreamcli.orchestration.batch as batch
from dreamcli.testing import FakeAnthropic, text_reply
from dreamcli.workspace.home import Workspace
from tests.cli.test_run_json_redacted import GH_TOKEN, KEY
from tests.support.run import invoke_run


@pytest.fixture
def keyed(fake_anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> FakeAnthropic:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    return fake_anthropic


def _tasks(tmp_path: Path, bravo: str = "") -> list[str]:
    (tmp_path / "work").mkdir()
    (tmp_path / "alpha.yaml").write_text("name: alpha\nprompt: Task alpha.\nworkdir: work\nmax_turns: 2\n")
    (tmp_path / "bravo.yaml").write_text(f"name: bravo\nprompt: Task bravo.\nworkdir: work\n{bravo}")
    return [str(tmp_path / "alpha.yaml"), str(tmp_path / "bravo.yaml"), "--parallel", "2", "--yes"]


def _bravo_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "bravo" in line and ("x [" in line or "bravo:" in line)]


def test_an_error_before_the_session_starts_is_redacted(keyed: FakeAnthropic, ws: Workspace, tmp_path: Path) -> None:
    (ws.root / "playbooks" / "broken.md").write_text(
        f"---\nname: broken\nversion: 1\n---\n\n## Lessons\n\n- [pb-aaaa0001] Read it.\n  <!-- dc: {GH_TOKEN} -->\n")
    keyed.expect(text_reply("alpha done."))
    proc = invoke_run(_tasks(tmp_path, "playbook: broken\n"), ws.root)
    assert proc.exit_code == 1, proc.stderr
    assert GH_TOKEN not in proc.stderr + proc.stdout
    lines = _bravo_lines(proc.stderr)
    assert len(lines) == 2, proc.stderr  # the live line when it ends, and the summary's
    assert all("broken.md:9: bad metadata '[REDACTED:github]'" in line for line in lines), lines


def test_an_internal_error_is_redacted(keyed: FakeAnthropic, home: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    real = batch.run_agent

    def run_agent(ws: Any, config: Any, spec: Any, *args: Any, **kwargs: Any) -> Any:
        if spec.name == "bravo":
            raise RuntimeError(f"endpoint said: key {KEY} and {GH_TOKEN}")
        return real(ws, config, spec, *args, **kwargs)

    monkeypatch.setattr(batch, "run_agent", run_agent)
    keyed.expect(text_reply("alpha done."))
    proc = invoke_run([*_tasks(tmp_path), "--no-playbooks", "--json"], home)
    assert proc.exit_code == 1, proc.stderr
    assert KEY not in proc.stderr + proc.stdout and GH_TOKEN not in proc.stderr + proc.stdout
    (line,) = _bravo_lines(proc.stderr)  # --json: the live line only
    assert "internal error: RuntimeError: endpoint said: key [REDACTED:custom] and [REDACTED:github]" in line
    bravo = json.loads(proc.stdout)["runs"][1]
    assert bravo["error"] == "internal error: RuntimeError: endpoint said: key [REDACTED:custom] and [REDACTED:github]"


def test_an_error_outside_the_run_is_redacted_in_the_summary(keyed: FakeAnthropic, home: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import dreamcli.store.sink as sink

    def session_sink(ws: Any, config: Any, **kwargs: Any) -> Any:  # fails before the run (its job's own error)
        raise RuntimeError(f"store said: key {KEY} and {GH_TOKEN}")

    monkeypatch.setattr(sink, "session_sink", session_sink)
    proc = invoke_run([*_tasks(tmp_path), "--no-playbooks"], home)
    assert proc.exit_code == 1, proc.stderr
    assert KEY not in proc.stderr + proc.stdout and GH_TOKEN not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith(("  alpha:", "  bravo:"))]
    assert lines == [f"  {name}: internal error: RuntimeError: store said: key [REDACTED:custom] and "
                     "[REDACTED:github]" for name in ("alpha", "bravo")], proc.stderr
