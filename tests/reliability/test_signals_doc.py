"""docs/reliability.md, "Signals", says what the code does: every command (not only `run`) takes SIGTERM and
SIGHUP as Ctrl-C, in the module the entry point installs first, and it names the tests that check it."""

from __future__ import annotations

import signal

from dreamcli.interrupts import HANDLED
from tests.support.paths import REPO


def _first_paragraph(doc: str, heading: str) -> str:
    section = doc.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return " ".join(section.strip().split("\n\n", 1)[0].split())


def test_the_signals_paragraph_covers_every_command() -> None:
    said = _first_paragraph((REPO / "docs" / "reliability.md").read_text(encoding="utf-8"), "Signals")
    assert set(HANDLED) == {signal.SIGTERM, signal.SIGHUP}
    assert said.startswith("Every command handles SIGTERM and SIGHUP as Ctrl-C (`dreamcli/interrupts.py`)"), said
    assert "`dreamcli.cli.app.main`" in said and "error: interrupted by SIGTERM" in said
    for path in ("dreamcli/interrupts.py", "dreamcli/cli/app.py", "tests/cli/test_entry_signals.py",
                 "tests/agent/test_run_signals.py"):
        assert (REPO / path).is_file(), path
        assert f"`{path}`" in said or path == "dreamcli/cli/app.py", path
    assert "dreamcli/agent/signals.py" not in said  # only a re-export of dreamcli.interrupts now
