"""Helpers shared by the outcomes/grade tests (no tests here): sessions, specs, grader replies."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from dreamcli.sessions.writer import SessionWriter
from dreamcli.testing import Reply, text_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace


def workspace(tmp_path: Path) -> Workspace:
    return Workspace(root=tmp_path / "home", source="option").ensure_layout()


def make_session(
    ws: Workspace,
    *,
    answer: str | None = "Done: summary.md lists 3 clauses.",
    workdir: Path | None = None,
    files: dict[str, str] | None = None,
    task: str = "contract-review",
    outcome: str | Path | None = None,
    status: str | None = "completed",
    turns: int = 2,
    cost: float = 0.01,
    tool_errors: int = 0,
    prompt: str = "List the termination clauses in summary.md.",
    tags: list[str] | None = None,
) -> str:
    """Write one session (with a write tool call for each file, which is also created in workdir)."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        for name, content in (files or {}).items():
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
    w = SessionWriter(ws)
    w.start(task={"name": task, "prompt": prompt, "outcome": str(outcome) if outcome else None},
            model="claude-sonnet-5-5", workdir=str(workdir) if workdir else None, tags=tags or [])
    w.message("user", [{"type": "text", "text": prompt}])
    for i, name in enumerate(files or {}):
        tid = f"toolu_w{i}"
        w.message("assistant", [{"type": "tool_use", "id": tid, "name": "write",
                                 "input": {"file_path": name, "content": "..."}}],
                  model="claude-sonnet-5-5", stop_reason="tool_use", cost_usd=0.001)
        w.tool(tool_use_id=tid, name="write", duration_ms=1.0)
        w.message("user", [{"type": "tool_result", "tool_use_id": tid, "is_error": False, "content": "ok"}])
    for i in range(tool_errors):
        tid = f"toolu_e{i}"
        w.message("assistant", [{"type": "tool_use", "id": tid, "name": "read", "input": {"file_path": "x.docx"}}],
                  model="claude-sonnet-5-5", stop_reason="tool_use")
        w.tool(tool_use_id=tid, name="read", error_kind="exception")
        w.message("user", [{"type": "tool_result", "tool_use_id": tid, "is_error": True,
                            "content": "x.docx is a binary file"}])
    if answer is not None:
        w.message("assistant", [{"type": "text", "text": answer}], model="claude-sonnet-5-5", stop_reason="end_turn")
    if status is None:
        w.close()
    else:
        w.end(status, totals={"turns": turns, "cost_usd": cost, "tool_errors": tool_errors,
                              "tool_calls": len(files or {}) + tool_errors})
    return w.session_id


def write_spec(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


CHECKS_SPEC = """
name: checks
criteria:
  - id: says-done
    check: {type: contains, value: "Done"}
"""

GRADER_SPEC = """
name: review
description: summary.md lists every termination clause with its section number.
criteria:
  - id: cites-sections
    description: Every clause is cited by its section number.
    weight: 2
  - id: no-advice
    description: No legal advice is given.
  - id: summary-written
    check: {type: file_exists, in: summary.md}
examples:
  - label: good
    output: "Section 12.1: either party, 30 days."
    why: cites the section
  - label: bad
    output: "You should terminate."
    why: legal advice, no section
pass_threshold: 0.75
"""


def verdicts(**passed: bool) -> dict[str, Any]:
    return {"verdicts": [{"criterion_id": cid.replace("_", "-"), "passed": ok, "reason": f"{cid} judged",
                          "evidence": "quote"} for cid, ok in passed.items()],
            "summary": "fix the failing criteria"}


def verdict_reply(**passed: bool) -> Reply:
    """The grader's forced tool call."""
    return tool_reply(tool_use("record_verdicts", verdicts(**passed)),
                      usage={"input_tokens": 900, "output_tokens": 120})


def verdict_text_reply(**passed: bool) -> Reply:
    """A local server that ignored tool_choice: JSON in text."""
    return text_reply("Here is my grading:\n```json\n" + json.dumps(verdicts(**passed)) + "\n```")
