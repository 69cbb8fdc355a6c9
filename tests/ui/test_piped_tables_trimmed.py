"""Tables and grids on a pipe or in a file end no line in a space: Rich pads every cell to its column's
width, so each row of `sessions list` (and the import summary, `doctor`, …) ended in the padding of its
last column, which `diff`, `cat -A` and line-matching scripts see. On a terminal nothing changes."""

from __future__ import annotations

import io
from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.ui import console
from tests.support.paths import CLAUDE_CODE_SAMPLES


def test_piped_tables_end_no_line_in_a_space(tmp_path: Path) -> None:
    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["--home", str(ws), "init", "--with-samples"]).exit_code == 0
    shown = {}
    for args in (["sessions", "list"], ["sessions", "import", "claude-code", str(CLAUDE_CODE_SAMPLES)],
                 ["doctor"], ["dream", "--offline", "-q"], ["playbooks", "list"], ["playbooks", "diff"]):
        result = runner.invoke(app, ["--home", str(ws), *args], env={"NO_COLOR": "1", "COLUMNS": "120"})
        shown[" ".join(args[:2])] = result.stdout
        assert [line for line in result.stdout.splitlines() if line != line.rstrip(" ")] == [], args
    assert "medical-summary" in shown["sessions list"] and "satisfied (1.00)" in shown["sessions list"]
    assert "transcripts  4 of 4 files" in shown["sessions import"]
    assert "RETIRED" in shown["playbooks diff"] and "(removed)" in shown["playbooks diff"]  # a side-by-side row


def test_a_terminal_keeps_rich_layout() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column()
    table.add_column()
    table.add_row("a", "long value")
    table.add_row("bb", "x")
    piped = Console(file=io.StringIO(), width=40, color_system=None, force_terminal=False)
    console.print_block(piped, table)
    assert piped.file.getvalue().splitlines() == ["a   long value", "bb  x"]  # type: ignore[attr-defined]
    tty = Console(file=io.StringIO(), width=40, color_system=None, force_terminal=True)
    console.print_block(tty, table)
    assert tty.file.getvalue().splitlines()[1].startswith("bb  x ")  # type: ignore[attr-defined]
