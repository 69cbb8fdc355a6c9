"""`dreamcli init DIR --with-samples` ends with a command to try: DIR quoted for a shell as the hints of
`dream` and `sessions import` are (a space in it must not split the command when it is copied)."""

from __future__ import annotations

import shlex
from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app


def test_the_command_to_try_quotes_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "wsp ü" / ".dreamcli"
    r = CliRunner().invoke(app, ["init", str(root.parent), "--with-samples"])
    assert r.exit_code == 0, r.output
    hint = next(line for line in r.stderr.splitlines() if "Try:" in line)
    assert hint.endswith(f"Try: dreamcli --home {shlex.quote(str(root))} dream --offline")
    assert shlex.split(hint.split("Try: ", 1)[1])[:3] == ["dreamcli", "--home", str(root)]
