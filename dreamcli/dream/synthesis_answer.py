"""What the dreamer model answers with: the tool it is asked to call, and how an answer is found in
its reply (the tool call's input, or a JSON object with "operations" in plain text)."""

from __future__ import annotations

from typing import Any

from dreamcli.jsontext import json_object_in_text

TOOL_NAME = "propose_edits"


class InvalidAnswer(ValueError):
    pass


def answer_payload(content: list[dict[str, Any]]) -> Any:
    """The tool call's input, else a JSON object with "operations" found in the text."""
    for block in content:
        if block.get("type") == "tool_use" and block.get("name") == TOOL_NAME:
            return block.get("input")
    text = "\n".join(str(b.get("text", "")) for b in content if b.get("type") == "text")
    obj = json_object_in_text(text, "operations")
    if isinstance(obj, dict):
        return obj
    raise InvalidAnswer(f"no {TOOL_NAME} call and no JSON object with operations")
