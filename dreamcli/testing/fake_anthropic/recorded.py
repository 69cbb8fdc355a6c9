"""What the fake server remembers about each request it received."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordedRequest:
    """One HTTP request as the fake server saw it.

    headers has lower-case keys; body is the parsed JSON (None if empty or not JSON); stream is
    body["stream"] is True. t_start/t_end are time.monotonic() at arrival and after the answer was
    written. reply is the Reply used (None if the request was unexpected). batch_id is set for the
    requests of a Message Batch (path "/v1/messages"). unexpected holds the reason if it was one.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    stream: bool
    t_start: float
    t_end: float | None = None
    reply: Any = None  # the replies.Reply used (typed loosely: replies.Match takes a RecordedRequest)
    query: str = ""
    batch_id: str | None = None
    custom_id: str | None = None
    unexpected: str | None = None
    raw_body: bytes = field(default=b"", repr=False)

    @property
    def api_key(self) -> str | None:
        """The credential sent: x-api-key, or the "authorization: Bearer ..." token (what SDK 2.x sends)."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """body["messages"] (empty list if absent)."""
        return list(self.body.get("messages") or []) if isinstance(self.body, dict) else []

    @property
    def system_text(self) -> str:
        """The system prompt as one string (joined text blocks if it was a list)."""
        system = self.body.get("system") if isinstance(self.body, dict) else None
        if isinstance(system, list):
            return "\n".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
        return system or ""

    @property
    def last_user_text(self) -> str:
        """Text of the last user message: its string content or its text / tool_result blocks joined."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return content_text(message.get("content"))
        return ""

    def tool_names(self) -> list[str]:
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        return [t.get("name", "") for t in tools or [] if isinstance(t, dict)]

    def describe(self) -> str:
        summary = f"{self.method} {self.path}"
        if self.batch_id:
            summary += f" (batch {self.batch_id}, custom_id={self.custom_id})"
        if isinstance(self.body, dict) and "messages" in self.body:
            last = self.last_user_text.replace("\n", " ")
            summary += f" model={self.body.get('model')!r} last user={last[:80]!r}"
        elif self.raw_body:
            summary += f" body={self.raw_body[:120]!r}"
        return summary


def content_text(content: Any) -> str:
    """The visible text of a message content (string, or list of text / tool_result blocks)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            parts.append(content_text(block.get("content")))
    return "\n".join(parts)


def parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
