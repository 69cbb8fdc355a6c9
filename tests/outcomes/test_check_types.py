"""One list of check types (dreamcli/outcomes/check_types.py): the spec's `Literal`, the runners and the
spec's validation all name exactly its types, so a type cannot load and then fail at grading."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from dreamcli.errors import InputError
from dreamcli.outcomes import check_types
from dreamcli.outcomes.checks import RUNNERS
from dreamcli.outcomes.spec import Check, load_spec
from tests.support.outcomes import write_spec


def test_the_spec_accepts_exactly_the_registered_types_in_order() -> None:
    literal = typing.get_args(Check.model_fields["type"].annotation)
    assert literal == check_types.CHECK_TYPES


def test_every_registered_type_has_a_runner() -> None:
    # `command` is run by run_command_check, which also takes the commands running (checks.run_check)
    assert set(RUNNERS) == set(check_types.CHECK_TYPES) - {"command"}


def test_the_derived_lists() -> None:
    assert check_types.BUDGETS == ("max_turns", "max_cost_usd", "max_tool_errors")
    assert check_types.ANSWER_CHECKS == ("contains", "regex", "json_schema")
    assert check_types.NO_TARGET == ("command", "max_turns", "max_cost_usd", "max_tool_errors")


def _fields(kind: str) -> str:
    """The fields a check of `kind` needs besides its value, from what it reads."""
    reads = check_types.CHECK_KINDS[kind]
    return {"answer or file": ", in: out.txt", "file": ", in: out.txt", "command": ", run: 'true'",
            "totals": ""}[reads]


@pytest.mark.parametrize("kind", check_types.CHECK_TYPES)
def test_every_registered_type_validates_its_value_at_load(tmp_path: Path, kind: str) -> None:
    """A new type must refuse a value it cannot use when the spec loads (docs/architecture.md, "How to add a
    grading check"), not when a run is graded."""
    spec = write_spec(tmp_path / "s.yaml", f"name: x\ncriteria:\n  - id: a\n"
                                           f"    check: {{type: {kind}, value: [1, 2]{_fields(kind)}}}\n")
    with pytest.raises(InputError) as info:
        load_spec(spec)
    assert info.value.field == "criteria.0.check.value" and info.value.line == 4


@pytest.mark.parametrize("kind", check_types.NO_TARGET)
def test_checks_that_read_no_text_refuse_in(tmp_path: Path, kind: str) -> None:
    spec = write_spec(tmp_path / "s.yaml", f"name: x\ncriteria:\n  - id: a\n"
                                           f"    check: {{type: {kind}, in: answer{_fields(kind)}}}\n")
    with pytest.raises(InputError, match=f"{kind} checks do not read an answer or a file"):
        load_spec(spec)
