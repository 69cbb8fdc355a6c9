"""Fixtures of the command-line tests: `cron_env`, a fake `crontab` on PATH for the `schedule` tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support.crontab import FAKE_CRONTAB

USERS_CRONTAB = "MAILTO=ana@example.org\n15 * * * * /usr/bin/backup  # the user's own line\n"


@pytest.fixture
def cron_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a `dreamcli` subprocess whose `crontab` is tests/support/crontab.py's fake: the table is
    $FAKE_CRONTAB_FILE (tmp_path/crontab.txt, holding two lines of the user's own), HOME is tmp_path, no
    ANTHROPIC_* variable (a scheduled job gets none of the shell's), no colour. The machine's crontab is never
    touched."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "crontab"
    fake.write_text(FAKE_CRONTAB)
    fake.chmod(0o755)
    table = tmp_path / "crontab.txt"
    table.write_text(USERS_CRONTAB)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    return {**env, "PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin", "FAKE_CRONTAB_FILE": str(table),
            "HOME": str(tmp_path), "NO_COLOR": "1"}
