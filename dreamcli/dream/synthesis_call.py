"""Calling the dreamer model: one client, usage counted like Anthropic's dream object, API errors
mapped to exit codes, and one repair turn for an answer that does not validate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dreamcli.config import Config
from dreamcli.dream.synthesis_answer import TOOL_NAME, InvalidAnswer, answer_payload

USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def _block(b: Any) -> dict[str, Any] | None:
    """A content block as the API accepts it back in a follow-up request."""
    d = b.model_dump(exclude_none=True) if hasattr(b, "model_dump") else dict(b)
    kind = d.get("type")
    if kind == "text":
        return {"type": "text", "text": d.get("text", "")}
    if kind == "tool_use":
        return {"type": "tool_use", "id": d["id"], "name": d["name"], "input": d.get("input") or {}}
    return None


class ModelCaller:
    def __init__(self, config: Config, model: str) -> None:
        from dreamcli.modelclient import is_anthropic_endpoint, make_client

        self.client = make_client(max_retries=config.limits.model_retries, timeout=config.limits.request_timeout_s)
        self.cache = is_anthropic_endpoint()
        self.usage: dict[str, Any] = {k: 0 for k in USAGE_KEYS} | {"model_calls": 0, "model": model}

    def _call(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        from dreamcli.modelclient import api_error

        try:
            response = self.client.messages.create(**params)
        except Exception as e:  # the SDK's errors, after its own retries
            raise api_error(e, what="dreamer") from None
        self.usage["model_calls"] += 1
        usage = getattr(response, "usage", None)
        for key in USAGE_KEYS:
            value = getattr(usage, key, None)
            if isinstance(value, int):
                self.usage[key] += value
        content = [b for b in (_block(x) for x in response.content) if b is not None]
        return content, getattr(response, "stop_reason", None)

    def ask(self, params: dict[str, Any], validate: Callable[[Any], Any]) -> Any:
        """The validated answer, after at most one repair turn; None when it never validates."""
        content, stop = self._call(params)
        try:
            return validate(answer_payload(content))
        except InvalidAnswer as e:
            if stop == "refusal" or not content:
                return None
            problem = f"That answer was invalid: {e}. Answer again with valid operations."
        tool_ids = [b["id"] for b in content if b["type"] == "tool_use"]
        if tool_ids:
            reply: Any = [{"type": "tool_result", "tool_use_id": tid, "is_error": True, "content": problem}
                          for tid in tool_ids]
        else:
            reply = problem + f" Use the {TOOL_NAME} tool or one JSON object with \"operations\"."
        repair = dict(params, messages=[*params["messages"], {"role": "assistant", "content": content},
                                        {"role": "user", "content": reply}])
        content, _ = self._call(repair)
        try:
            return validate(answer_payload(content))
        except InvalidAnswer:
            return None
