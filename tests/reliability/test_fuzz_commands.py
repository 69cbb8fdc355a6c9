"""The command fuzzer (bench/fuzz_cli.py, docs/reliability.md) on a fixed seed, so a change that brings
back an internal error on bad input fails the suite, not only a manual fuzz run. Every target (session
logs, transcripts, workspace files, bundles, the agent's tools against a scripted model) runs a few
trials of each command; a trial fails when a command ends with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_every_command_survives_odd_inputs_on_a_fixed_seed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DREAMCLI_", "ANTHROPIC_"))}
    env.update(HOME=str(tmp_path), NO_COLOR="1", DREAMCLI_TRUST_FILE=str(tmp_path / "trust.json"))
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "fuzz_cli.py"), "--seed", "3", "--trials", "4"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert "0 trials ended in an internal error" in out.stdout, out.stdout[-2000:]
