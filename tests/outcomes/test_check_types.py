"""One list of check types (dreamcli/outcomes/check_types.py): the spec's `Literal`, the runners, the spec's
validation, the lists derived by what a type reads and docs/outcomes.md all name exactly its types, so a type
cannot load and then fail at grading, nor be missing from the page that documents it."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from dreamcli.errors import InputError
from dreamcli.outcomes import check_types
from dreamcli.outcomes.checks import RUNNERS
from dreamcli.outcomes.spec import Check, load_spec
from tests.support.outcomes import write_spec
from tests.support.paths import REPO


def test_the_spec_accepts_exactly_the_registered_types_in_order() -> None:
    literal = typing.get_args(Check.model_fields["type"].annotation)
    assert literal == check_types.CHECK_TYPES


def test_every_registered_type_has_a_runner() -> None:
    # `command` is run by run_command_check, which also takes the commands running (checks.run_check)
    assert set(RUNNERS) == set(check_types.CHECK_TYPES) - {"command"}


# What each value of `Reads` puts a type in: (NO_TARGET, BUDGETS, ANSWER_CHECKS). A new type needs only its
# entry in CHECK_KINDS; a new value of `Reads` needs a row here, the place to decide what it means.
MEMBERSHIP = {"answer or file": (False, False, True), "file": (False, False, False),
              "command": (True, False, False), "totals": (True, True, False)}


def test_the_derived_lists_follow_what_each_type_reads() -> None:
    assert set(typing.get_args(check_types.Reads)) == set(MEMBERSHIP), "say in MEMBERSHIP what a new Reads means"
    for i, derived in enumerate((check_types.NO_TARGET, check_types.BUDGETS, check_types.ANSWER_CHECKS)):
        assert derived == tuple(t for t in check_types.CHECK_TYPES if MEMBERSHIP[check_types.CHECK_KINDS[t]][i])


@pytest.mark.parametrize("kind", check_types.CHECK_TYPES)
def test_exactly_the_answer_checks_can_read_the_answer(tmp_path: Path, kind: str) -> None:
    """`in: answer` passes the loader's `in` rules for the ANSWER_CHECKS alone (what `grade --calibrate` can
    apply to an example): the others are refused at `in`. The bad value then fails the answer checks."""
    spec = write_spec(tmp_path / "s.yaml", f"name: x\ncriteria:\n  - id: a\n"
                                           f"    check: {{type: {kind}, in: answer, value: [1, 2]}}\n")
    with pytest.raises(InputError) as info:
        load_spec(spec)
    expected = "value" if kind in check_types.ANSWER_CHECKS else "in"
    assert info.value.field == f"criteria.0.check.{expected}", info.value


def _named(text: str) -> list[str]:
    return re.findall(r"`([a-z_]+)`", text)


def test_the_outcomes_page_names_the_types_where_it_lists_them() -> None:
    """docs/outcomes.md lists the types three times: its checks table, the budget checks and the checks
    `--calibrate` applies. Each list must be the code's, so a new type cannot be left out of the page."""
    page = (REPO / "docs" / "outcomes.md").read_text(encoding="utf-8")
    table = page.split("| type | passes when | fields |", 1)[1].split("\n\n", 1)[0]
    rows = [_named(line.split("|")[1]) for line in table.splitlines()[2:]]
    assert [t for row in rows for t in row] == list(check_types.CHECK_TYPES), "the checks table of docs/outcomes.md"
    budgets = re.search(r"The budget checks \(([^)]*)\)", page)
    assert budgets and tuple(_named(budgets[1])) == check_types.BUDGETS, "docs/outcomes.md: 'The budget checks (…)'"
    calibrate = re.search(r"the checks that read the answer \(([^)]*)\)", page.split("### `--calibrate`", 1)[1])
    assert calibrate and tuple(_named(calibrate[1].split(" on ")[0])) == check_types.ANSWER_CHECKS, \
        "docs/outcomes.md, `--calibrate`: 'the checks that read the answer (…)'"


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
