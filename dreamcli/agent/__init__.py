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

- `dreamcli.agent.spec`: TaskSpec (what to run) and prompt_spec; `dreamcli.agent.taskfile`: task
  files (docs/task-files.md) -> TaskSpec.
- `dreamcli.agent.loop`: run_agent. `dreamcli.agent.options`: RunOptions.
- `dreamcli.agent.tools`: the Tool interface and registry (`register_tool`; dreamcli.orchestration
  registers `delegate` there, this package never imports orchestration).
- `dreamcli.agent.run_context`: RunContext, what a session's tools know about its run (`ToolEnv.run`).
- `dreamcli.agent.approvals`: the approval gate for commands and writes.
- `dreamcli.agent.context`: system prompt and playbook selection.

Modules inside this package import each other directly, never through this file.
"""

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.agent.loop import run_agent
from dreamcli.agent.options import RunOptions
from dreamcli.agent.results import RunResult, StartInfo, TurnContext
from dreamcli.agent.spec import TaskSpec, prompt_spec
from dreamcli.agent.taskfile import load_task_file

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
