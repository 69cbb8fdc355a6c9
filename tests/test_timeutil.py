"""`parse_since` names the flag it reads for in its errors, `--since` unless told another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dreamcli.errors import UsageError
from dreamcli.timeutil import parse_since

NOW = datetime(2026, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize("value", ["garbage", "99999999999999999999d"])
def test_the_error_names_the_flag_given(value: str) -> None:
    with pytest.raises(UsageError) as got:
        parse_since(value, now=NOW, flag="--until")
    assert str(got.value).startswith("--until: ") and "--since" not in str(got.value)


@pytest.mark.parametrize("value", ["garbage", "99999999999999999999d"])
def test_the_error_names_since_by_default(value: str) -> None:
    with pytest.raises(UsageError, match=r"^--since: "):
        parse_since(value, now=NOW)


def test_a_readable_value_is_read_whatever_the_flag() -> None:
    assert parse_since("7d", now=NOW, flag="--until") == NOW - timedelta(days=7)
    assert parse_since("2026-11-01", flag="--until") == datetime(2026, 11, 1, tzinfo=UTC)
