"""The `delegate` tool: a lead agent starts sub-agents and gets their final answers back.

    tools: [bash, read, grep, delegate]        # in a task file (found through the tool registry)

Input: `{"tasks": [{"brief", "tools"?, "playbook"?, "max_turns"?, "token_budget"?}, ...]}`, or one
task's fields at the top level. All tasks of one call run at the same time, at most
config `limits.concurrency` at once (and their model calls under the command's one limit of that
many, `limiter`); the tool result holds each sub-agent's final answer (or its
failure) in brief order, and is an error result when any sub-agent failed. The loop runs the tool
calls of one assistant turn one after another, so parallelism comes from one call with several
tasks (the description tells the model so); two `delegate` calls in one turn run their batches in
turn. Sub-agents do not get this tool (one level deep, as in Claude Managed Agents): a session
with a parent refuses it, and briefs that list it are refused. One lead session starts at most
config `limits.max_subagents` sub-agents over all its delegate calls: a call asking for more than
are left is refused as a whole (a tool error saying how many are left), and nothing of it runs.
The work is done by
`dreamcli.orchestration.subagents`; this module is the model-facing surface and the registration:
`register_delegate()` adds the tool to the agent's tool registry (importing dreamcli.orchestration
does it), so dreamcli.agent never imports this package. The run the children derive from is the
lead session's `ToolEnv.run` (a RunContext).
"""

from __future__ import annotations

from typing import Any

from dreamcli.agent.run_context import RunContext
from dreamcli.agent.tools.base import Tool, ToolEnv
from dreamcli.agent.tools.registry import DEFAULT_TOOLS, register_tool
from dreamcli.agent.tools.result import ToolResult
from dreamcli.orchestration.subagents import BriefError, Lead, format_results, parse_briefs, run_subagents

NAME = "delegate"

_TASK_PROPS: dict[str, Any] = {
    "brief": {"type": "string", "description": "Everything the sub-agent needs: what to do, which files or "
              "inputs, and exactly what to return (it does not see your conversation)."},
    "tools": {"type": "array", "items": {"type": "string"}, "description": "Optional subset of your tools for "
              "this sub-agent (default: all of yours except delegate)."},
    "playbook": {"type": "string", "description": "Optional playbook name to place in its context."},
    "max_turns": {"type": "integer", "minimum": 1, "description": "Optional turn limit (default 20; never more "
                  "than your own turn limit)."},
    "token_budget": {"type": "integer", "minimum": 1000, "description": "Optional total token budget "
                     "(input + output over all its turns; default 400000)."},
}

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tasks": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": _TASK_PROPS,
                                                           "required": ["brief"]},
                  "description": "One entry per sub-agent; all of them run in parallel."},
        **_TASK_PROPS,
    },
}

DESCRIPTION = (
    "Start sub-agents that work in parallel, each with its own fresh context, and get each one's final "
    "answer back. Use it to split a large task (many files, logs or items) into independent parts. Put "
    "every part in ONE call as the `tasks` list so they run at the same time ({limit} at once); separate "
    "delegate calls run one after another. A sub-agent sees only its brief, not your conversation, so "
    "say which inputs to look at and what to return, in what shape. Sub-agents have your tools except "
    "this one (they cannot delegate further); a failed sub-agent is reported in the result, so you can "
    "retry it or work around it. Merge their answers yourself. This run may start at most {cap} "
    "sub-agents in all, over every delegate call."
)


def over_cap(asked: int, started: int, cap: int) -> str:
    """The tool error of a call that asks for more sub-agents than the run has left."""
    left = cap - started
    head = f"delegate: refused, nothing started: this run may start at most {cap} sub-agents in all " \
           f"(config limits.max_subagents) and has started {started}"
    if left <= 0:
        return f"{head}; none are left. Do the remaining work yourself with your other tools."
    return (f"{head}; this call asks for {asked}, only {left} {'is' if left == 1 else 'are'} left. Send at most "
            f"{left} brief{'s' if left != 1 else ''} "
            "(merge small parts into one brief), or do the rest yourself.")


class DelegateTool(Tool):
    name = NAME
    input_schema = INPUT_SCHEMA

    def __init__(self, env: ToolEnv) -> None:
        if env.run is not None and env.run.parent_session_id:
            raise ValueError("delegate is not available to sub-agents (delegation is one level deep)")
        self.env = env
        self.limit = max(1, int(env.config.limits.concurrency))
        self.cap = max(1, int(env.config.limits.max_subagents))
        self.started = 0  # sub-agents this session started (one tool per session: the run's count)
        self.description = DESCRIPTION.format(limit=self.limit, cap=self.cap)

    def key_argument(self, input: dict[str, Any]) -> str:
        tasks = input.get("tasks")
        if isinstance(tasks, list):
            return f"{len(tasks)} sub-agent{'s' if len(tasks) != 1 else ''}"
        brief = input.get("brief")
        return brief if isinstance(brief, str) else ""

    def _lead(self) -> Lead:
        env = self.env
        if env.writer is None:
            raise RuntimeError("delegate needs the lead session's log")
        if env.run is None:
            raise RuntimeError("delegate needs the lead's run (it runs inside run_agent)")
        run: RunContext = env.run
        options, spec = run.options, run.spec
        tools = tuple(options.tools if options.tools is not None else (spec.tools or ()))
        return Lead(ws=env.ws, config=env.config, session_id=env.session_id, writer=env.writer, workdir=env.workdir,
                    model=env.model, tools=tools or DEFAULT_TOOLS, options=options, spec=spec, client=run.client,
                    cancel=run.cancel, callbacks=run.callbacks, limit=self.limit)

    def execute(self, input: dict[str, Any]) -> ToolResult:
        lead = self._lead()
        try:
            briefs = parse_briefs(input, available=lead.child_tools)
        except BriefError as e:
            return ToolResult.error(f"delegate: {e}", "invalid_input")
        if len(briefs) > self.cap - self.started:
            return ToolResult.error(over_cap(len(briefs), self.started, self.cap), "refused")
        self.started += len(briefs)
        results = run_subagents(lead, briefs)
        return format_results(results, self.env.output_cap, self.env.redact)


def make_delegate(env: ToolEnv) -> Tool:
    return DelegateTool(env)


def register_delegate() -> None:
    """Make `delegate` available to task files and `run_agent` (idempotent)."""
    register_tool(NAME, make_delegate)
