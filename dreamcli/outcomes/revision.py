"""The revision loop of `dreamcli run --outcome SPEC` (Anthropic's outcomes):

when the agent ends its turn, grade the session so far; on `needs_revision` send the grader's
explanation back as the next user message and let the agent continue, up to `max_iterations`
(the spec's, default 3, at most 20). Every evaluation is logged as an `outcome.evaluation` event;
session.end carries `outcome: {name, result, score, iterations}` with the final result:

- `satisfied`: a grade reached the threshold;
- `max_iterations_reached`: still below the threshold after the last allowed iteration;
- `failed`: the run ended without a usable grade (agent error, turn limit, or a grader error:
  fail closed, never a pass);
- `interrupted`: Ctrl-C during the run.

The final grade is also appended to the grade store (docs/grades.md). Wire it into the agent loop:

    loop = RevisionLoop(ws, config, load_spec(path))
    run_agent(ws, config, task, options, on_end_turn=loop.on_end_turn, before_end=loop.before_end)
    loop.exit_code   # 0 satisfied, 1 not satisfied, 3 grader error, 130 interrupted
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamcli.config import Config
from dreamcli.errors import EXIT_FAILED, EXIT_INFRA, EXIT_INTERRUPTED, EXIT_OK
from dreamcli.outcomes.evidence import load_run
from dreamcli.outcomes.grading import GradeOptions, Grader, GradeResult
from dreamcli.outcomes.scoretext import score_pair
from dreamcli.outcomes.spec import MAX_ITERATIONS_LIMIT, OutcomeSpec
from dreamcli.workspace.home import Workspace


class RevisionLoop:
    def __init__(self, ws: Workspace, config: Config, spec: OutcomeSpec, *, grader: Grader | None = None,
                 max_iterations: int | None = None) -> None:
        self.ws = ws
        self.spec = spec
        # Each iteration is a new state of the session, so its grade is never a cache hit; no trials. The
        # workdir is the run's own: one that is gone was removed by the run, and its checks fail.
        self.grader = grader or Grader(ws, config, GradeOptions(trials=1, workdir_required=True))
        self.max_iterations = min(max_iterations or spec.max_iterations, MAX_ITERATIONS_LIMIT)
        self.iteration = 0
        self.result: str | None = None  # the final result once decided
        self.last: GradeResult | None = None
        self.grader_error = False

    # --- hooks for dreamcli.agent.run_agent ----------------------------------------------------
    def on_end_turn(self, ctx: Any) -> str | None:
        """Grade the session so far; the feedback to send back, or None to let the run finish."""
        if self.result is not None:
            return None
        self.iteration += 1
        if ctx.client is not None:  # the run's client: its grader shares the run's limit
            self.grader.share_client(ctx.client)
        grade = self._grade(Path(ctx.writer.path))
        self.last = grade
        if grade.result == "error":
            self.grader_error = True
            result = "failed"
        elif grade.result == "satisfied":
            result = "satisfied"
        elif self.iteration >= self.max_iterations:
            result = "max_iterations_reached"
        else:
            result = "needs_revision"
        self._log(ctx.writer, result, grade)
        if result == "needs_revision":
            return self.feedback(grade)
        self.result = result
        return None

    def before_end(self, ctx: Any) -> None:
        """Decide the final result from how the run ended, log it if new, and put it on session.end."""
        if ctx.status == "interrupted" and self.result is None:
            self.result = "interrupted"
            self._log(ctx.writer, "interrupted", None, explanation="the run was interrupted before a final grade")
        elif self.result is None:
            self.result = "failed"
            why = f"the run ended with status {ctx.status} before the outcome was satisfied"
            self._log(ctx.writer, "failed", None, explanation=why)
        last = self.last
        ctx.end_fields["outcome"] = {
            "name": self.spec.name, "result": self.result, "score": last.score if last else None,
            "iterations": self.iteration,
        }
        if last is not None:
            from dreamcli.outcomes.store import append_grade

            append_grade(self.ws, last.to_record())

    @property
    def exit_code(self) -> int:
        if self.result == "satisfied":
            return EXIT_OK
        if self.result == "interrupted":
            return EXIT_INTERRUPTED
        return EXIT_INFRA if self.grader_error else EXIT_FAILED

    # --- internals ---------------------------------------------------------------------------
    def _grade(self, session_path: Path) -> GradeResult:
        run = load_run(session_path)
        run.status = "completed"  # the turn ended normally; the log has no session.end yet
        return self.grader.grade_run(run, self.spec)

    def _log(self, writer: Any, result: str, grade: GradeResult | None, *, explanation: str | None = None) -> None:
        writer.evaluation(
            outcome=self.spec.name, iteration=self.iteration, result=result,
            explanation=explanation if explanation is not None else (grade.explanation if grade else None),
            score=grade.score if grade else None,
            criteria=[c.to_json() for c in grade.criteria] if grade else [],
            grader_model=grade.grader_model if grade else None,
            usage=grade.usage if grade else {},
            error=grade.error if grade else None,
        )

    def feedback(self, grade: GradeResult) -> str:
        failing = [c for c in grade.criteria if not c.passed]
        got, required = score_pair(grade.score or 0, self.spec.pass_threshold)
        lines = [
            f'An independent grader checked your work against the outcome "{self.spec.name}" '
            f"(evaluation {self.iteration} of at most {self.max_iterations}). It needs revision: score "
            f"{got}, required {required}.",
            "",
            "Criteria not met:",
        ]
        lines.extend(f"- {c.id}: {c.reason}" for c in failing)
        lines += ["", "Revise your work so that every criterion above is met, then reply with your final answer."]
        return "\n".join(lines)


def revision_loop_for(ws: Workspace, config: Config, outcome: Path | None) -> RevisionLoop | None:
    """The loop for a run whose task (or --outcome) names a spec; None without one. An invalid spec is
    refused here (InputError, exit 2), before the session starts."""
    if outcome is None:
        return None
    from dreamcli.outcomes.spec import load_spec

    return RevisionLoop(ws, config, load_spec(outcome))


def grader_error_line(loop: RevisionLoop | None) -> str | None:
    """`grader error: …`, the line of the grader error that failed the outcome (its message redacted as the
    grade's), or None when the grader did not fail: `run --json` and each run of `--parallel` carry it as
    their `error` when the run itself had none, so a script sees why it exited 3."""
    if loop is None or not loop.grader_error or loop.last is None or not loop.last.error:
        return None
    return f"grader error: {loop.last.error}"


def failure_message(loop: RevisionLoop, session_id: str) -> str:
    last = loop.last
    score = ""
    if last and last.score is not None:
        got, required = score_pair(last.score, loop.spec.pass_threshold)
        score = f", score {got} < {required}"
    why = f": grader error: {last.error}" if loop.grader_error and last and last.error else score
    return f"outcome {loop.spec.name} {loop.result} after {loop.iteration} evaluation(s){why} (session {session_id})"
