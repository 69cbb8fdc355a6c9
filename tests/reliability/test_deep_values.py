"""Values nested as deep as a JSON decoder allows (found by fuzzing with lists 700 and 960 deep): the
decoders take them, recursive code cannot walk them again. Each reader below ends with data, a set-aside
state or a one-line error, never a traceback; redaction never writes out what it could not check."""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from dreamcli.cli.common import print_json
from dreamcli.dream.watermark import load_aggregates, state_dir
from dreamcli.errors import InputError
from dreamcli.playbooks.proposals import _read_json
from dreamcli.portability.manifest import parse_manifest
from dreamcli.redaction import default_redactor
from dreamcli.redaction.redactor import TOO_DEEP
from dreamcli.workspace.home import Workspace

KEY = "sk-ant-api03-" + "A1b2C3d4E5f6G7h8" * 5


def nested(depth: int, leaf: Any = None) -> Any:
    value: Any = [] if leaf is None else [leaf]
    for _ in range(depth):
        value = [value]
    return value


def deep_text(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_redaction_replaces_what_it_cannot_walk_and_still_redacts_the_rest() -> None:
    event = {"key": KEY, "deep": nested(sys.getrecursionlimit() + 50, KEY), "shallow": [[{"token": KEY}]]}
    red = default_redactor().redact_obj(event)
    text = json.dumps(red)
    assert KEY not in text and TOO_DEEP in text
    assert red["shallow"][0][0]["token"] != KEY and red["key"] != KEY


def test_json_output_of_a_deep_value_with_nan_is_strict_json() -> None:
    data = {"cost": float("nan"), "input": nested(700), "n": [1.5, float("inf")]}
    out = io.StringIO()
    with redirect_stdout(out):
        print_json(data)
    parsed = json.loads(out.getvalue(), parse_constant=lambda c: pytest.fail(f"{c} in the output"))
    assert parsed["cost"] is None and parsed["n"] == [1.5, None]
    depth, value = 0, parsed["input"]
    while value:
        value, depth = value[0], depth + 1
    assert depth == 700


def test_deep_dream_state_is_read_as_none(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    path = state_dir(ws, "default") / "aggregates.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"v":1,"patterns":' + deep_text(5000) + "}")
    assert load_aggregates(ws, "default").to_json()["patterns"] == []


def test_deep_proposal_and_manifest_are_one_line_errors(tmp_path: Path) -> None:
    proposal = tmp_path / "proposal.json"
    proposal.write_text(deep_text(5000))
    with pytest.raises(InputError, match="nested deeper"):
        _read_json(proposal, "proposal.json")
    with pytest.raises(InputError, match="nested deeper"):
        parse_manifest(deep_text(5000).encode(), bundle="b.tar.gz")
