"""dreamcli.codec writes what the standard library writes, and fails the way callers expect."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreamcli import codec

_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(
    st.characters(exclude_categories=("Cs",)))
_floats = st.floats(allow_nan=False, allow_infinity=False)


def _tree(leaves: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20)


@given(_tree(_scalars))
def test_dumps_is_the_compact_stdlib_form(obj: object) -> None:
    assert codec.dumps(obj) == json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    assert codec.dumps_line(obj).endswith(b"\n")


def test_floats_differ_from_the_stdlib_only_in_exponent_spelling() -> None:
    # msgspec writes 1e16 where json writes 1e+16: the same number to every JSON reader
    assert codec.dumps([1e16, 0.1, 1.5e-7]) == b"[1e16,0.1,1.5e-7]"


@given(_tree(_scalars | _floats))
def test_loads_round_trips(obj: object) -> None:
    assert codec.loads(codec.dumps(obj)) == json.loads(json.dumps(obj))


def test_non_ascii_is_written_unescaped() -> None:
    assert codec.dumps({"k": "é\u2028"}) == '{"k":"é\u2028"}'.encode()


@pytest.mark.parametrize("bad", [b"{", b"[1,]", b'{"a": NaN}', b"\xff", b""])
def test_malformed_input_is_a_value_error(bad: bytes) -> None:
    with pytest.raises(ValueError):
        codec.loads(bad)


def test_deep_nesting_is_a_recursion_error_not_a_crash() -> None:
    with pytest.raises(RecursionError):
        codec.loads(b"[" * 100_000 + b"]" * 100_000)


def test_unsupported_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        codec.dumps({"a": object()})


def test_malformed_input_is_the_codecs_own_decode_error() -> None:
    # msgspec 0.18.6 (the lowest declared) raises a DecodeError that is not a ValueError
    with pytest.raises(codec.DecodeError, match=r"malformed|truncated"):
        codec.loads(b"[1,]")
