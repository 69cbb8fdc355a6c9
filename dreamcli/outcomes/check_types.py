"""The closed list of deterministic check types (docs/outcomes.md, "Specs"), and what each one reads.

The one source every other list derives from: the spec's validation (dreamcli/outcomes/spec.py, whose
pydantic `Literal` must name exactly these, in this order: tests/outcomes/test_check_types.py), the
runners (`checks.RUNNERS`), the budgets that count sub-agents, and the checks `grade --calibrate`
can apply to an example. Adding a type: docs/architecture.md, "How to add a grading check".
"""

from __future__ import annotations

from typing import Literal

# What a check reads: "answer or file" (`in:` is `answer` or a workdir path), "file" (`in:` must be a
# workdir path), "command" (runs `run:` in the workdir), "totals" (the run's totals, its sub-agents' too)
Reads = Literal["answer or file", "file", "command", "totals"]

CHECK_KINDS: dict[str, Reads] = {
    "contains": "answer or file",
    "regex": "answer or file",
    "file_exists": "file",
    "json_schema": "answer or file",
    "command": "command",
    "max_turns": "totals",
    "max_cost_usd": "totals",
    "max_tool_errors": "totals",
}

CHECK_TYPES = tuple(CHECK_KINDS)
# the checks that read neither the answer nor a file: `in:` is refused
NO_TARGET = tuple(t for t, r in CHECK_KINDS.items() if r in ("command", "totals"))
# the checks that count a lead's sub-agents too (docs/outcomes.md)
BUDGETS = tuple(t for t, r in CHECK_KINDS.items() if r == "totals")
# the checks that can read the answer: the only ones `grade --calibrate` can apply to an example
ANSWER_CHECKS = tuple(t for t, r in CHECK_KINDS.items() if r == "answer or file")
