"""Secrets in dict keys: JSON from a transcript, a tool input or a bundle may use a secret as a key
(`{"sk-ant-…": 1}`); `redact_obj` replaces the key like any other text, and never merges two keys."""

from __future__ import annotations

import json

from dreamcli.redaction import Redactor, default_redactor
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.redaction.support import ANTHROPIC_API, GH_PAT, OPAQUE


def test_a_key_holding_a_secret_becomes_its_marker_and_keeps_its_place() -> None:
    obj = {"a": 1, ANTHROPIC_API: 2, "z": {f"password={OPAQUE}": [3]}}
    out = default_redactor().redact_obj(obj)
    assert list(out) == ["a", "[REDACTED:anthropic]", "z"]
    assert out["[REDACTED:anthropic]"] == 2
    assert list(out["z"]) == ["password=[REDACTED:password]"]
    assert ANTHROPIC_API not in json.dumps(out) and OPAQUE not in json.dumps(out)
    assert ANTHROPIC_API in obj  # the input is left as it was


def test_keys_that_redact_alike_stay_apart() -> None:
    other = ANTHROPIC_API[:-4] + "wXyZ"
    obj = {ANTHROPIC_API: 1, other: 2, "[REDACTED:anthropic] 2": 3}
    out = default_redactor().redact_obj(obj)
    assert sorted(out.values()) == [1, 2, 3]
    assert len(out) == 3 and all(ANTHROPIC_API not in k and other not in k for k in out)


def test_clean_keys_cost_no_copy_in_lists_of_records() -> None:
    rows = [{"type": "text", "text": f"row {i}"} for i in range(3)]
    assert default_redactor().redact_obj(rows) is rows


def test_a_custom_pattern_applies_to_keys_too() -> None:
    out = Redactor(["ticket-[0-9]{4}"]).redact_obj({"ticket-1234": "x"})
    assert list(out) == ["[REDACTED:custom]"]


def test_a_session_written_with_a_secret_key_holds_only_the_marker(tmp_path: object) -> None:
    from pathlib import Path

    ws = Workspace(root=Path(str(tmp_path)), source="option")
    w = SessionWriter(ws)
    w.start(task={"name": "t", GH_PAT: "x"}, model="m", workdir=None)
    w.end(status="completed")
    text = w.path.read_text(encoding="utf-8")
    assert GH_PAT not in text
    assert "[REDACTED:github]" in text


def test_a_short_value_seen_clean_is_still_redacted_with_a_custom_pattern_elsewhere() -> None:
    """Values repeat across records, and the redactor remembers short clean ones; a value that
    holds a secret is never remembered as clean, under the built-in rules or a custom pattern."""
    red = Redactor(["ticket-[0-9]{4}"])
    records = [{"type": "text", "text": "ticket-1234", "who": ANTHROPIC_API}] * 3
    out = red.redact_obj(records)
    assert [r["text"] for r in out] == ["[REDACTED:custom]"] * 3
    assert [r["who"] for r in out] == ["[REDACTED:anthropic]"] * 3
    assert red.redact_text("plain words") == "plain words"
    assert red.redact_text("ticket-9999 again") == "[REDACTED:custom] again"


def test_clean_text_under_a_custom_pattern_comes_back_as_the_same_object() -> None:
    red = Redactor(["ticket-[0-9]{4}"])
    text = "nothing to hide here " * 3
    assert red.redact_text(text) is text
    assert red.redact_text(text) is text  # the second time from what it remembers


def test_what_the_redactor_remembers_is_bounded() -> None:
    from dreamcli.redaction.redactor import CLEAN_CACHE_SIZE

    red = Redactor()
    for i in range(CLEAN_CACHE_SIZE * 2 + 7):
        assert red.redact_text(f"value {i}") == f"value {i}"
    assert red.redact_text(ANTHROPIC_API) == "[REDACTED:anthropic]"
    remembered = red._clean  # the bound is what this test is about
    assert 0 < len(remembered) <= CLEAN_CACHE_SIZE and ANTHROPIC_API not in remembered
