"""Fixtures shared by the agent tests (the suite's own are in tests/conftest.py: `ws` and its kin)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def no_user_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's own user config and trust records, under tmp_path/"user" (not created): where the file
    tools look for them (their fences), instead of the suite's /dev/null and shared trust file.
    A module asks for it with `pytestmark = pytest.mark.usefixtures("no_user_files")`."""
    monkeypatch.setenv("DREAMCLI_CONFIG", str(tmp_path / "user" / "config.yaml"))
    monkeypatch.setenv("DREAMCLI_TRUST_FILE", str(tmp_path / "user" / "trusted.json"))
