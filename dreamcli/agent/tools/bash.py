"""The `bash` tool: a persistent shell (`dreamcli.agent.tools.shell.Shell`) behind the approval
gate, with the configured timeout (limits.bash_timeout_s) and output cap (limits.tool_output_bytes).

The shell keeps its cwd, variables and jobs between calls; it starts in the workdir with the
process environment minus `ANTHROPIC_*` (no credentials reach the agent's commands). Everything
it starts runs in its process group or, put in a session of its own (`setsid`), carries the shell's
tag in its environment, so a timed-out command, a restart and `close()` stop it all (all but what
cleared its environment). `close()` works from any thread while a call is in flight (Ctrl-C, or a supervisor
stopping a sub-agent): the blocked call returns and the tool refuses further calls. A timed-out
command kills the shell; the next call starts a fresh one (the result says so). The output is
redacted before it is capped (`render`), so a secret the cap cuts shows no part of itself.
"""

from __future__ import annotations

import os
from typing import Any

from dreamcli.agent.tools.base import Tool, ToolEnv, ToolResult
from dreamcli.agent.tools.result import Redact, cap_output, capped_text, without_edges
from dreamcli.agent.tools.shell import CappedBuffer, Shell, ShellStopped
from dreamcli.workspace.live import shells_dir

# What the shell keeps of a long output, on each side, beyond the cap: what is shown stays far from where the
# middle was dropped, even after redaction made the ends shorter (`render`).
HELD_EXTRA = 65536


def shell_env() -> dict[str, str]:
    """The environment commands see: ours without ANTHROPIC_* variables, and a plain prompt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    return {**env, "PS1": "", "PS2": "", "TERM": "dumb"}


def render(output: CappedBuffer, limit: int, redact: Redact) -> tuple[str, bool]:
    """The command's output, trailing newlines dropped, redacted, then cut to at most `limit` bytes. A middle
    the shell dropped was never seen: the two ends are redacted on their own, and what lies next to that middle
    left out (`without_edges`). The marker counts the bytes of the redacted ends and of that middle as printed."""
    if output.complete:
        data = (bytes(output.head) + bytes(output.tail)).rstrip(b"\n")
        return cap_output(data.decode("utf-8", errors="replace"), limit, redact)
    tail = bytes(output.tail).rstrip(b"\n")
    middle = output.total - len(output.head) - len(output.tail)
    red_head, red_tail = (redact(b.decode("utf-8", errors="replace")) for b in (bytes(output.head), tail))
    total = len(red_head.encode()) + middle + len(red_tail.encode())
    shown_head, shown_tail = without_edges(red_head, red_tail)
    return capped_text(shown_head.encode(), shown_tail.encode(), total, limit), True


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
        # in a workdir copied into the workspace, what commands make is private like the rest of it
        self.shell = Shell(env.workdir, shell_env(), env.output_cap + HELD_EXTRA,
                           umask=0o077 if env.private_workdir else -1, groups=shells_dir(env.ws))

    def execute(self, input: dict[str, Any]) -> ToolResult:
        if input.get("restart"):
            self.shell.stop_shell()
            try:
                self.shell.start()
            except ShellStopped:
                return ToolResult.error("bash: the session was stopped", "exception")
            return ToolResult("bash session restarted")
        command = input.get("command")
        if not isinstance(command, str) or not command.strip():
            return ToolResult.error("bash: `command` (a non-empty string) is required", "invalid_input")
        decision = self.env.approvals.check_command(command)
        if not decision.approved:
            return ToolResult.error(decision.reason, "refused", approval=decision.approval)
        timeout = float(self.env.config.limits.bash_timeout_s)
        asked = input.get("timeout_ms")
        if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0:
            timeout = min(timeout, asked / 1000)
        try:
            result = self.shell.run(command, timeout)
        except TimeoutError:
            return ToolResult.error(
                f"bash: command timed out after {timeout:g}s; the shell was restarted (state is lost)",
                "timeout", approval=decision.approval,
            )
        except ShellStopped:
            return ToolResult.error("bash: the session was stopped", "exception", approval=decision.approval)
        except OSError as e:
            self.shell.stop_shell()
            return ToolResult.error(f"bash: cannot run the shell: {e}", "exception", approval=decision.approval)
        text, truncated = render(result.output, self.env.output_cap, self.env.redact)
        notes = []
        if result.exit_code != 0:
            notes.append(f"[exit code {result.exit_code}]")
        if result.shell_exited:
            notes.append("[the shell exited; the next command starts a fresh one]")
        if notes:
            text = "\n".join([text, *notes]) if text else "\n".join(notes)
        if result.exit_code != 0:
            return ToolResult(text, is_error=True, exit_code=result.exit_code, error_kind="exit_nonzero",
                              truncated=truncated, approval=decision.approval)
        return ToolResult(text or "(no output)", exit_code=0, truncated=truncated, approval=decision.approval)

    def close(self) -> None:
        """Stop the shell and what it started (`Shell.stop`), even while a command runs; later calls are refused."""
        self.shell.stop()


def make_bash(env: ToolEnv) -> Tool:
    return BashTool(env)
