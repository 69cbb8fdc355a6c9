"""Multi-agent orchestration: sub-agents for a lead agent, and many tasks at once.

- `delegate`: the `delegate` tool (the model-facing surface of `subagents`). Importing this package
  registers it with the agent's tool registry (`register_delegate`), so a task that names `delegate`
  finds it; dreamcli.agent never imports this package.
- `supervisor`: sessions in daemon worker threads under a concurrency limit; Ctrl-C (or a parent's
  cancel event) stops them all and closes every log with session.end `interrupted`, even for a
  session blocked in a model call (`SupervisedWriter.seal`).
- `subagents`: the briefs of a `delegate` call -> child sessions (own history, own log with
  parent_session_id, turn and token budgets, a subset of the lead's tools, never `delegate`) and
  their final answers as one tool result.
- `batch`: `dreamcli run TASK... --parallel N`: one session per task, graded with the task's outcome.
- `limiter`: one limit on the model calls in flight of a whole command (limits.concurrency), carried
  by the shared model client, so leads, sub-agents and parallel runs never multiply it.
- `tally`: what a lead's sub-agents spent, summed (the run's summary and `--json`).

Dreams count a lead and its sub-agents as one episode (dreamcli.dream.aggregates.episode_of follows
parent_session_id), so a mistake every sub-agent repeats has support 1, not N.

Modules inside this package import each other directly, never through this file.
"""

from dreamcli.orchestration.delegate import register_delegate

register_delegate()

__all__ = ["register_delegate"]
