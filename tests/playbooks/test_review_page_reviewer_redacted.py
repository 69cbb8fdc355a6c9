"""The review page (`playbooks diff --html`) shows the reviewer redacted (tester D, defect 5), as the audit
record holds it (docs/audit.md): whichever source named the reviewer, `--reviewer`, `$DREAMCLI_ACTOR` or
config `playbooks.reviewer`, and with the workspace's own `redaction.patterns`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import op, write_dream, write_playbook

AWS_KEY = "AKIA" + "Q4ZP7XN2LM8RT3VW"
CUSTOM = "ACME-123456"
DREAM = "01JD3Z0000000000000000REV1"


@pytest.fixture
def pending(ws: Workspace) -> Workspace:
    write_playbook(ws, "ops", [("pb-aaaaaa01", "Tools", "Use make.")], version=1)
    write_dream(ws, DREAM, "ops", [op("pb-new00001", text="Run make twice on a cold cache.")], base_version=1)
    return ws


def _page(ws: Workspace, tmp_path: Path, *args: str, actor: str | None = None, config: str = "") -> str:
    ws.config_path.write_text("redaction:\n  patterns: ['ACME-[0-9]{6}']\n" + config)
    page = tmp_path / "review.html"
    r = CliRunner().invoke(app, ["--home", str(ws.root), "playbooks", "diff", "--html", str(page), *args],
                           env={"DREAMCLI_ACTOR": actor})
    assert r.exit_code == 0, r.output
    html = page.read_text()
    assert AWS_KEY not in html and CUSTOM not in html
    found = re.search(r'<dd id="reviewer">(.*?)</dd>', html)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(("args", "kw"), [
    (("--reviewer", f"Ana {AWS_KEY} {CUSTOM}"), {}),
    ((), {"actor": f"Ana {AWS_KEY} {CUSTOM}"}),
    ((), {"config": f"playbooks:\n  reviewer: 'Ana {AWS_KEY} {CUSTOM}'\n"}),
])
def test_the_reviewer_on_the_page_is_redacted(pending: Workspace, tmp_path: Path, args: tuple[str, ...],
                                              kw: dict[str, Any]) -> None:
    assert _page(pending, tmp_path, *args, **kw) == "Ana [REDACTED:aws_access_key] [REDACTED:custom]"


def test_a_plain_reviewer_is_shown_as_given(pending: Workspace, tmp_path: Path) -> None:
    assert _page(pending, tmp_path, "--reviewer", "Ana Lima") == "Ana Lima"
