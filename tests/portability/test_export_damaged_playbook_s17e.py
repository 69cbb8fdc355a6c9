"""`dreamcli export` of a live playbook that does not parse names its line and reason and how to recover, as the
`playbooks` commands do (`parse_live`): revert to the newest kept version."""

from __future__ import annotations

from pathlib import Path

from dreamcli.errors import EXIT_USAGE
from tests.portability.support import cli, make_workspace


def test_a_damaged_live_playbook_is_refused_with_the_way_back(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", sessions=False)
    live = ws.playbooks_dir / "legal.md"
    live.write_text(live.read_text().replace("version: 3", "version: three"))
    r = cli(ws.root, "export", "-f", "json", "-o", str(tmp_path / "out.json"))
    assert r.exit_code == EXIT_USAGE, r.output
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(f"error: {live}:") and line.endswith(
        f"fix the file, or make a kept version live again: dreamcli --home {ws.root} playbooks revert legal 3 "
        f"(versions: dreamcli --home {ws.root} playbooks history legal)"), line
    assert not (tmp_path / "out.json").exists()
