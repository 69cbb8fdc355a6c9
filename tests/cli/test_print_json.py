"""print_json writes exactly what json.dumps(indent=2) writes, only faster."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreamcli.cli.common import print_json

_leaves = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(st.characters(exclude_categories=("Cs",))))
_data = st.recursive(_leaves, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=25)


def _expected(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


@given(_data)
def test_same_text_as_json_dumps_indent_2(data: Any) -> None:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print_json(data)
    assert buf.getvalue() == _expected(data)


@pytest.mark.parametrize("data", [
    {"when": datetime.datetime(2026, 12, 5, 3, 0), "path": Path("/x y"), "ids": {"b"}, 7: [], "e": {}},
    {"text": "é\u2028\"\\\n\t", "n": [1e16, -0.0, 12345678901234567890]},
])
def test_values_json_turns_into_text_stay_as_json_writes_them(data: Any, capsys: pytest.CaptureFixture[str]) -> None:
    print_json(data)
    assert capsys.readouterr().out == _expected(data)
