"""The model catalogue the fake serves on GET /v1/models: by default the installed SDK's known,
non-deprecated model ids, so code that checks "is this model current?" sees what the SDK sees."""

from __future__ import annotations

from functools import cache
from typing import Any, get_args


@cache
def current_model_ids() -> tuple[str, ...]:
    from anthropic.resources.messages.messages import DEPRECATED_MODELS
    from anthropic.types.model import Model

    literal = next(arg for arg in get_args(Model) if get_args(arg))
    return tuple(m for m in get_args(literal) if m not in DEPRECATED_MODELS)


def model_list(ids: list[str] | None) -> list[dict[str, Any]]:
    return [
        {
            "type": "model",
            "id": model_id,
            "display_name": model_id.replace("-", " ").title(),
            "created_at": "2026-01-01T00:00:00Z",
            "lifecycle": "active",
        }
        for model_id in (current_model_ids() if ids is None else ids)
    ]
