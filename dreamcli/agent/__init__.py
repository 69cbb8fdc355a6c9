"""The agent: task specs, the loop, its tools, approvals and playbooks in context.

Public API (see each module's docstring):

    from dreamcli.agent import RunOptions, run_agent, load_task_file, prompt_spec

    spec = load_task_file(Path("sample_tasks/contract-review.yaml"))   # or prompt_spec("...")
    result = run_agent(ws, config, spec, RunOptions(yes=True),
                       callbacks=my_callbacks,            # RunCallbacks: live text, tool lines
                       on_end_turn=my_hook,               # TurnContext -> follow-up text | None
                       before_end=my_end_hook,            # TurnContext -> None (ctx.end_fields)
                       parent_session_id=None, session_id=None, writer=None, cancel=None)
    result.status, result.final_text, result.totals, result.path, result.exit_code

- `dreamcli.agent.spec`: task files (Contract 4) -> TaskSpec.
- `dreamcli.agent.loop`: run_agent, RunOptions.
- `dreamcli.agent.tools`: the Tool interface and registry (`register_tool` adds e.g. `delegate`).
- `dreamcli.agent.approvals`: the approval gate for commands and writes.
- `dreamcli.agent.context`: system prompt and playbook selection.
"""

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.loop import RunOptions, run_agent
from dreamcli.agent.results import RunResult, StartInfo, TurnContext
from dreamcli.agent.spec import TaskSpec, load_task_file, prompt_spec

__all__ = [
    "RunCallbacks",
    "RunOptions",
    "RunResult",
    "StartInfo",
    "TaskSpec",
    "TurnContext",
    "load_task_file",
    "prompt_spec",
    "run_agent",
]
