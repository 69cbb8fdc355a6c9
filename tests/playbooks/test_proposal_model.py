"""The one typed proposal model: what it accepts, what it refuses (naming the field), and that a
file written by a newer dreamcli keeps the keys this one does not know."""

from __future__ import annotations

import pytest

from dreamcli.errors import InputError
from dreamcli.playbooks.proposal_model import PROPOSAL_VERSION, Operation, parse_proposal


def _proposal(**ops: object) -> dict[str, object]:
    return {"v": PROPOSAL_VERSION, "dream_id": "D1", "playbook": "legal",
            "operations": [{"entry_id": "pb-aaaaaa01", "op": "add", "text": "Use pandoc.", **ops}]}


def test_defaults_unknown_keys_and_round_trip() -> None:
    prop = parse_proposal(_proposal(future_field={"x": 1}, support=None, reason=None), "p.json")
    (op,) = prop.operations
    assert (op.target, op.reason, op.support.sessions, op.metadata.helpful) == ("playbook", "", 0, 0)
    assert op.to_json()["future_field"] == {"x": 1}  # kept for the next writer
    assert parse_proposal(prop.to_json(), "p.json").to_json() == prop.to_json()


def test_a_memory_add_is_a_create_and_needs_a_path() -> None:
    op = Operation(entry_id="mem-1", target="memory", op="add", text="x", path="/memories/a.md")
    assert op.op == "create" and "section" not in op.to_json()
    with pytest.raises(ValueError, match="needs a path"):
        Operation(entry_id="mem-1", target="memory", op="create", text="x")


@pytest.mark.parametrize(("patch", "field"), [
    ({"text": 5}, "operations.0.text"),
    ({"lint": [{"rule": "x"}]}, "operations.0.lint.0.severity"),
    ({"evidence": "not a list"}, "operations.0.evidence"),
    ({"entry_id": "pb-aaaaaa01", "op": "update", "text": "  "}, "operations.0.text"),
])
def test_bad_values_name_their_field(patch: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_proposal(_proposal(**patch), "p.json")
    assert info.value.field == field and str(info.value).startswith("p.json: ")


def test_duplicate_ids_and_a_newer_format_are_refused() -> None:
    data = _proposal()
    data["operations"] = [*data["operations"], *data["operations"]]  # type: ignore[misc]
    with pytest.raises(InputError, match="appears twice") as info:
        parse_proposal(data, "p.json")
    assert info.value.field == "operations.1.entry_id"
    with pytest.raises(InputError, match="newer than this dreamcli"):
        parse_proposal({**_proposal(), "v": PROPOSAL_VERSION + 1}, "p.json")
