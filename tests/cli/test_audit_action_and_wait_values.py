"""Unknown `playbooks audit --action` values and negative `--wait` values are usage errors (exit 2, one
line naming what is valid), as `sessions list --status bogus` and `dream --wait -5` already are."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli


def test_an_unknown_audit_action_is_refused(ws: Workspace) -> None:
    r = cli(ws, "playbooks", "audit", "--action", "approve", "--action", "bogus")
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: --action: 'bogus' is not one of approve, reject, edit, revert, import,")
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_known_audit_action_still_filters(ws: Workspace) -> None:
    r = cli(ws, "playbooks", "audit", "--action", "sessions-import")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("wait", ["-3", "-2", "nan", "-inf"])
@pytest.mark.parametrize("command", [["import", "BUNDLE"], ["playbooks", "revert", "legal", "1", "--yes"],
                                     ["playbooks", "approve", "--all", "--yes"]])
def test_a_negative_wait_is_refused_everywhere(ws: Workspace, tmp_path: Path, command: list[str],
                                               wait: str) -> None:
    args = [str(tmp_path / "no-bundle") if a == "BUNDLE" else a for a in command]
    r = cli(ws, *args, "--wait", wait)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: --wait: ") and "give 0 or more, or -1" in r.stderr
    assert not (ws.playbooks_dir / "legal.md").exists()
