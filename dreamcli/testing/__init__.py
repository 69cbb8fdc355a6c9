"""Test doubles for code built on dreamcli: a scripted model and a corpus of realistic sessions.

As openai-agents and inspect_ai ship their testing models, dreamcli ships what its own test suite and
benchmarks run on, so users can test their own tools, tasks, outcome specs and playbooks against a
scripted model instead of the real API:

- `FakeAnthropic`: a fake of the Anthropic Messages API on 127.0.0.1 (messages, streaming,
  count_tokens, Message Batches, models). Script its answers with the reply builders (`text_reply`,
  `tool_reply(tool_use(...))`, `error_reply`, `stream_error_reply`, `drop`, or `Reply(...)`) or a
  `responder`; requests nobody expected are answered 400 and listed by `check()`. Point the client
  at it with ANTHROPIC_BASE_URL=server.url.
- `generate(workspace, GenConfig(...))`: a seeded, deterministic corpus of session logs (schema v1)
  with grades and memory notes, planted recurring patterns and one-off noise; the `Manifest` says
  which pattern was planted where. Also `python -m dreamcli.testing.synthetic`.

Nothing in dreamcli's command imports this package.
"""

from dreamcli.testing.fake_anthropic import (
    FakeAnthropic,
    RecordedRequest,
    Reply,
    content_text,
    drop,
    error_reply,
    stream_error_reply,
    text_reply,
    thinking,
    tool_reply,
    tool_use,
)
from dreamcli.testing.synthetic import GenConfig, Manifest, generate

__all__ = [
    "FakeAnthropic",
    "GenConfig",
    "Manifest",
    "RecordedRequest",
    "Reply",
    "content_text",
    "drop",
    "error_reply",
    "generate",
    "stream_error_reply",
    "text_reply",
    "thinking",
    "tool_reply",
    "tool_use",
]
