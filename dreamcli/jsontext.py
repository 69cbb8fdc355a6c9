"""JSON answers inside a model's text, for servers that ignore `tool_choice` (Ollama, llama.cpp …)."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

FENCE = "```"


def fenced_objects(text: str) -> list[str]:
    """The `{...}` bodies of fenced blocks (```json or ```), in order, in one pass over the fences (a
    backtracking regex was quadratic on many unclosed fences). A fence whose block is not an object is
    tried as the opening of the next block."""
    fences: list[int] = []
    at = text.find(FENCE)
    while at >= 0:
        fences.append(at)
        at = text.find(FENCE, at + len(FENCE))
    out: list[str] = []
    i = 0
    while i + 1 < len(fences):
        body = text[fences[i] + len(FENCE):fences[i + 1]]
        if body.startswith("json"):
            body = body[4:]
        body = body.strip()
        if body.startswith("{") and body.endswith("}"):
            out.append(body)
            i += 2
        else:
            i += 1
    return out


def json_object_in_text(text: str, key: str) -> Any:
    """The JSON object in `text` that holds `key`: fenced blocks first, then the whole text, then an
    object embedded in prose. Without one, the first JSON value parsed (so validation can say what is
    wrong), or None when the text holds no JSON at all."""
    text = text.strip()
    if not text:
        return None
    parsed: list[Any] = []
    for candidate in [*fenced_objects(text), text]:
        with contextlib.suppress(ValueError, RecursionError):
            parsed.append(json.loads(candidate))
    for obj in parsed:
        if isinstance(obj, dict) and key in obj:
            return obj
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, m.start())
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
            continue
        if isinstance(obj, dict) and key in obj:
            return obj
    return parsed[0] if parsed else None
