"""JSON answers inside a model's text, for servers that ignore `tool_choice` (Ollama, llama.cpp …)."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

_FENCED_JSON = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S)


def json_object_in_text(text: str, key: str) -> Any:
    """The JSON object in `text` that holds `key`: fenced blocks first, then the whole text, then an
    object embedded in prose. Without one, the first JSON value parsed (so validation can say what is
    wrong), or None when the text holds no JSON at all."""
    text = text.strip()
    if not text:
        return None
    parsed: list[Any] = []
    for candidate in [m.group(1) for m in _FENCED_JSON.finditer(text)] + [text]:
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
