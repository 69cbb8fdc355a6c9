"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic_server import FakeAnthropic

# ---- fake Anthropic server (owner: fake-server engineer) -------------------------------------


@pytest.fixture
def fake_anthropic(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """A started fake Anthropic API; ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY point at it.

    Teardown fails the test if a request was unexpected or (unless server.allow_leftovers) a
    scripted reply was never used.
    """
    server = FakeAnthropic().start()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
    for var in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(var, raising=False)
    try:
        yield server
    finally:
        server.stop()
    problems = server.problems()
    if problems:
        pytest.fail("fake Anthropic server:\n  " + "\n  ".join(problems), pytrace=False)


# ---- end fake Anthropic server ---------------------------------------------------------------
