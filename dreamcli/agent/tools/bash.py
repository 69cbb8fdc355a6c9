"""The `bash` tool: the SDK's persistent shell (`agent_toolset.BashSession`) behind the approval gate,
with the configured timeout (limits.bash_timeout_s) and output cap (limits.tool_output_bytes).

The shell keeps its cwd, variables and jobs between calls; it starts in the workdir with the
process environment minus `ANTHROPIC_*` (the SDK's scrubbed default). It runs in a process group of
its own, so everything it started -- the command in flight, background jobs -- can be stopped
together: a timed-out command, a restart and `close()` send the whole group SIGTERM, then SIGKILL
after KILL_GRACE_S. `close()` works from any thread while a call is in flight (Ctrl-C, or a
supervisor stopping a sub-agent): the blocked call returns and the tool refuses further calls. A
timed-out command kills the shell; the next call starts a fresh one (the result says so).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from typing import Any

from dreamcli.agent.tools.base import Tool, ToolEnv, ToolResult, cap_output

SDK_TRUNCATION_MARKER = "[output truncated]\n"
KILL_GRACE_S = 0.5  # SIGTERM to the shell's process group, then SIGKILL after this long


def stop_process_group(pgid: int, grace_s: float = KILL_GRACE_S) -> None:
    """SIGTERM every process of group `pgid`; SIGKILL those still there after `grace_s`."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


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
        self._pgid: int | None = None  # the running shell's process group (its pid)
        self._closed = False
        self._lock = threading.Lock()

    # --- shell lifecycle (async parts run on the session's event loop) ------------------------
    async def _start(self) -> None:
        import anyio
        from anthropic.lib.tools.agent_toolset import BashSession

        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}  # as the SDK's default
        proc = await anyio.open_process(
            ["/bin/bash", "--noprofile", "--norc"], cwd=str(self.env.workdir),
            env={**env, "PS1": "", "PS2": "", "TERM": "dumb"},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        with self._lock:
            closed = self._closed
            if not closed:
                self._session, self._pgid = BashSession(proc), proc.pid
        if closed:  # close() ran while the shell was starting
            stop_process_group(proc.pid, 0)
            await BashSession(proc).close()
            raise RuntimeError("the session was stopped")

    async def _exec(self, command: str, timeout: float) -> tuple[str, int]:
        if self._closed:
            raise RuntimeError("the session was stopped")
        if self._session is None or self._session.closed:
            await self._start()
        out, code = await self._session.exec(command, timeout=timeout)
        return out, code

    async def _close_session(self, session: Any) -> None:
        await session.close()

    def _stop_shell(self) -> None:
        """Stop the current shell and everything it started (any thread, even during a call)."""
        with self._lock:
            pgid, session = self._pgid, self._session
            self._pgid = self._session = None
        if pgid is not None:
            stop_process_group(pgid)
        if session is not None and self.env.runtime.started:
            with contextlib.suppress(Exception):
                self.env.runtime.run(self._close_session, session)

    # --- the tool -----------------------------------------------------------------------------
    def execute(self, input: dict[str, Any]) -> ToolResult:
        if self._closed:
            return ToolResult.error("bash: the session was stopped", "exception")
        runtime = self.env.runtime
        if input.get("restart"):
            self._stop_shell()
            try:
                runtime.run(self._start)
            except RuntimeError as e:
                return ToolResult.error(f"bash: {e}", "exception")
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
            self._stop_shell()  # the SDK killed the shell; this stops what it started
            return ToolResult.error(
                f"bash: command timed out after {timeout:g}s; the shell was restarted (state is lost)",
                "timeout", approval=decision.approval,
            )
        except RuntimeError as e:
            self._stop_shell()
            return ToolResult.error(f"bash: {e}", "exception", approval=decision.approval)
        if self._closed:  # stopped while the command ran: its output is whatever it printed before
            return ToolResult.error("bash: the session was stopped while the command ran", "exception",
                                    approval=decision.approval)
        sdk_truncated = out.startswith(SDK_TRUNCATION_MARKER)
        text, truncated = cap_output(out, self.env.output_cap)
        truncated = truncated or sdk_truncated
        if code != 0:
            text = f"{text}\n[exit code {code}]" if text else f"[exit code {code}]"
            return ToolResult(text, is_error=True, exit_code=code, error_kind="exit_nonzero",
                              truncated=truncated, approval=decision.approval)
        return ToolResult(text or "(no output)", exit_code=0, truncated=truncated, approval=decision.approval)

    def close(self) -> None:
        """Stop the shell's whole process group, even while a command runs; later calls are refused."""
        with self._lock:
            self._closed = True
        self._stop_shell()


def make_bash(env: ToolEnv) -> Tool:
    return BashTool(env)
