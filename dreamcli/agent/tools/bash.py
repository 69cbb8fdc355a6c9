"""The `bash` tool: the SDK's persistent shell (`agent_toolset.BashSession`) behind the approval gate,
with the configured timeout (limits.bash_timeout_s) and output cap (limits.tool_output_bytes).

The shell keeps its cwd, variables and jobs between calls; it starts in the workdir with the
process environment minus `ANTHROPIC_*` (the SDK's scrubbed default). A timed-out command kills the
shell; the next call starts a fresh one (the result says so).
"""

from __future__ import annotations

from typing import Any

from dreamcli.agent.tools.base import Tool, ToolEnv, ToolResult, cap_output

SDK_TRUNCATION_MARKER = "[output truncated]\n"


class BashTool(Tool):
    name = "bash"
    description = (
        "Run a shell command in a persistent bash session started in the working directory. The "
        "working directory, variables and background jobs persist between calls. Output is stdout and "
        "stderr combined, capped in size; a non-zero exit status is reported as an error. Commands "
        "cannot read stdin. Pass restart: true to start a fresh shell."
    )
    input_schema = {  # noqa: RUF012
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The command to run."},
            "restart": {"type": "boolean", "description": "Restart the shell instead of running a command."},
            "timeout_ms": {"type": "integer", "description": "Optional lower timeout for this command (ms)."},
        },
    }

    def __init__(self, env: ToolEnv) -> None:
        self.env = env
        self._session: Any = None

    # --- shell lifecycle (runs on the session's event loop) ------------------------------------
    async def _start(self) -> None:
        from anthropic.lib.tools.agent_toolset import BashSession

        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = await BashSession.start(str(self.env.workdir))

    async def _exec(self, command: str, timeout: float) -> tuple[str, int]:
        if self._session is None or self._session.closed:
            await self._start()
        out, code = await self._session.exec(command, timeout=timeout)
        return out, code

    async def _close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- the tool -----------------------------------------------------------------------------
    def execute(self, input: dict[str, Any]) -> ToolResult:
        runtime = self.env.runtime
        if input.get("restart"):
            runtime.run(self._start)
            return ToolResult("bash session restarted")
        command = input.get("command")
        if not isinstance(command, str) or not command.strip():
            return ToolResult.error("bash: `command` (a non-empty string) is required", "invalid_input")
        decision = self.env.approvals.check_command(command)
        if not decision.approved:
            return ToolResult.error(decision.reason, "refused", approval=decision.approval)
        timeout = float(self.env.config.limits.bash_timeout_s)
        asked = input.get("timeout_ms")
        if isinstance(asked, int) and asked > 0:
            timeout = min(timeout, asked / 1000)
        try:
            out, code = runtime.run(self._exec, command, timeout)
        except TimeoutError:
            self._session = None  # the SDK killed the shell
            return ToolResult.error(
                f"bash: command timed out after {timeout:g}s; the shell was restarted (state is lost)",
                "timeout", approval=decision.approval,
            )
        except RuntimeError as e:
            self._session = None
            return ToolResult.error(f"bash: {e}", "exception", approval=decision.approval)
        sdk_truncated = out.startswith(SDK_TRUNCATION_MARKER)
        text, truncated = cap_output(out, self.env.output_cap)
        truncated = truncated or sdk_truncated
        if code != 0:
            text = f"{text}\n[exit code {code}]" if text else f"[exit code {code}]"
            return ToolResult(text, is_error=True, exit_code=code, error_kind="exit_nonzero",
                              truncated=truncated, approval=decision.approval)
        return ToolResult(text or "(no output)", exit_code=0, truncated=truncated, approval=decision.approval)

    def close(self) -> None:
        if self._session is not None and self.env.runtime.started:
            try:
                self.env.runtime.run(self._close)
            except Exception:
                self._session = None


def make_bash(env: ToolEnv) -> Tool:
    return BashTool(env)
