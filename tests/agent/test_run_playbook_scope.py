"""A task that names its own playbook also gets the workspace default playbook (what dreams propose
into by default), unless --playbook is explicit; a named playbook with nothing approved is said."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import text_reply
from tests.support.playbooks import workspace, write_playbook

runner = CliRunner()


def task(tmp_path: Path) -> Path:
    t = tmp_path / "task.yaml"
    t.write_text("name: contract-review\nprompt: review it\nplaybook: legal\nworkdir: .\n")
    return t


def test_task_playbook_plus_workspace_default(tmp_path: Path, fake_anthropic) -> None:  # type: ignore[no-untyped-def]
    ws = workspace(tmp_path)
    write_playbook(ws, "default", [("pb-default01", "General", "Convert .docx before reading it.")])
    fake_anthropic.expect(text_reply("done"))
    r = runner.invoke(app, ["--home", str(ws.root), "run", str(task(tmp_path)), "--json"])
    assert r.exit_code == 0, r.output
    assert [p["playbook"] for p in json.loads(r.stdout)["playbooks"]] == ["default"]
    assert "pb-default01" in fake_anthropic.requests[0].system_text
    assert "playbook legal: none approved yet" in r.stderr

    fake_anthropic.expect(text_reply("done"))
    r = runner.invoke(app, ["--home", str(ws.root), "run", str(task(tmp_path)), "--playbook", "legal", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["playbooks"] == []  # explicit --playbook: only that one
    assert "pb-default01" not in fake_anthropic.requests[1].system_text
