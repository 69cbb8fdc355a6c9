"""A scripted fake of the Anthropic Messages API (stdlib only, on 127.0.0.1): `server.FakeAnthropic` and
the reply builders of `replies`. See `server` for how scripts, responders and checks work."""

from dreamcli.testing.fake_anthropic.recorded import RecordedRequest, content_text
from dreamcli.testing.fake_anthropic.replies import (
    Reply,
    drop,
    error_reply,
    stream_error_reply,
    text_reply,
    thinking,
    tool_reply,
    tool_use,
)
from dreamcli.testing.fake_anthropic.server import FakeAnthropic

__all__ = [
    "FakeAnthropic",
    "RecordedRequest",
    "Reply",
    "content_text",
    "drop",
    "error_reply",
    "stream_error_reply",
    "text_reply",
    "thinking",
    "tool_reply",
    "tool_use",
]
