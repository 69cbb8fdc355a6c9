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


@pytest.fixture
def systemd_env(cron_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """cron_env with a `systemctl` that answers 0 to everything (an empty environment) and its own config folder."""
    fake = tmp_path / "bin" / "systemctl"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    return {**cron_env, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
