"""What the loop tells its caller while it runs (live output). No-op defaults; the CLI's
`dreamcli.ui.run_view.RunView` implements them for the terminal. Sub-agents may run in worker
threads, so implementations must not assume the main thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dreamcli.agent.results import RunResult, StartInfo
    from dreamcli.agent.tools.result import ToolResult


class RunCallbacks:
    def on_start(self, info: StartInfo) -> None:
        """The session started (id, model, workdir, playbooks placed, warnings)."""

    def on_text(self, text: str) -> None:
        """A streamed piece of the model's visible text."""

    def on_thinking(self, text: str) -> None:
        """A streamed piece of the model's thinking (when enabled)."""

    def on_message(self, turn: int, stop_reason: str | None, usage: dict[str, Any], cost_usd: float) -> None:
        """One model response is complete."""

    def on_tool_start(self, name: str, key_argument: str) -> None:
        """A tool call is about to run (approval prompts may follow)."""

    def on_tool_end(self, name: str, key_argument: str, result: ToolResult, duration_ms: float) -> None:
        """A tool call finished."""

    def on_retry(self, attempt: int, reason: str, delay_s: float) -> None:
        """A model response broke off mid-stream and is requested again."""

    def on_notice(self, message: str) -> None:
        """Something the user should know (continuing after max_tokens, a user follow-up)."""

    def on_store_wait(self, waiting: bool) -> None:
        """An upload of the session to the session store (sessions.url) starts (True) or ends (False)."""

    def on_turn_review(self, reviewing: bool) -> None:
        """The end-of-turn hook (an outcome's grader) starts checking the finished turn (True) or is done (False)."""

    def on_end(self, result: RunResult) -> None:
        """The session ended (session.end was written)."""
