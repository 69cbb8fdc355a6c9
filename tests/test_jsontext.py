"""JSON answers in model text (local servers ignore tool_choice): the object with the expected key wins."""

from __future__ import annotations

from dreamcli.jsontext import json_object_in_text


def test_fenced_block_with_the_key_wins_over_an_earlier_unrelated_one() -> None:
    text = 'Context:\n```json\n{"note": 1}\n```\nAnswer:\n```json\n{"verdicts": []}\n```'
    assert json_object_in_text(text, "verdicts") == {"verdicts": []}


def test_object_embedded_in_prose() -> None:
    assert json_object_in_text('Sure! {"operations": [{"op": "add"}]} Hope that helps.', "operations") == {
        "operations": [{"op": "add"}]}


def test_without_the_key_the_first_value_is_returned_for_validation() -> None:
    assert json_object_in_text('```json\n{"other": 2}\n```', "verdicts") == {"other": 2}
    assert json_object_in_text("no json here", "verdicts") is None
    assert json_object_in_text("   ", "verdicts") is None


def test_fenced_extraction_is_linear_on_many_unclosed_fences() -> None:
    import time

    text = "```{}x" * 30_000  # quadratic before: every fence scanned to the end (~20 s)
    start = time.perf_counter()
    json_object_in_text(text, "verdicts")
    assert time.perf_counter() - start < 3


def test_fenced_blocks_in_order_and_a_non_json_block_skipped() -> None:
    text = '```python\nx = 1\n```\n```json\n{"verdicts": [1]}\n```\n``` {"verdicts": [2]} ```'
    assert json_object_in_text(text, "verdicts") == {"verdicts": [1]}
    assert json_object_in_text('```\n{"a": 1}\n```', "a") == {"a": 1}
