"""A failed command with no test/install/build/lint intent is paired with the call that fixed it: the
same program again with more flags, arguments or environment, or after another command
(`git push` -> `git push --set-upstream origin release`, `psql` -> `PGPASSFILE=… psql`,
`make build` -> `sudo apt-get install -y libssl-dev && make build`); an entry never says "no retry
fixed it" when a later call did; the fix's own line is in the evidence; the agent's stated reason is
kept when the failing command differs between sessions (review-dream defects 5, 8 and 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamcli.config import Config
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.steps import Step, serves_same_step
from dreamcli.playbooks.proposal_model import Operation
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace


class _Log:
    def __init__(self, ws: Workspace) -> None:
        self.w = SessionWriter(ws)
        self.w.start(task={"name": "release", "prompt": "p"}, model=None, workdir=None)
        self.w.message("user", [{"type": "text", "text": "do the task"}])
        self.n = 0

    def call(self, command: str, out: str, *, error: bool = False, said: str | None = None) -> int:
        """A shell call; returns the seq of its tool_use line."""
        self.n += 1
        tid = f"tu{self.n}"
        text = [{"type": "text", "text": said}] if said else []
        seq = self.w.message("assistant", [*text, {"type": "tool_use", "id": tid, "name": "bash",
                                                   "input": {"command": command}}])["seq"]
        self.w.tool(tool_use_id=tid, name="bash", exit_code=1 if error else 0,
                    error_kind="exit_nonzero" if error else None)
        self.w.message("user", [{"type": "tool_result", "tool_use_id": tid, "is_error": error, "content": out}])
        return int(seq)

    def end(self) -> None:
        self.w.message("assistant", [{"type": "text", "text": "Done."}])
        self.w.end("completed", totals={"cost_usd": 0.01})


def _ws(tmp_path: Path) -> Workspace:
    return Workspace(root=tmp_path / "ws", source="option").ensure_layout()


def _ops(ws: Workspace) -> list[Operation]:
    return [op for op in run_dream(ws, Config(), DreamOptions(offline=True)).operations if op.op == "add"]


CASES = [
    ("git push", "fatal: The current branch release has no upstream branch.",
     "git push --set-upstream origin release", None),
    ("psql -c 'select 1'", "psql: error: FATAL: password authentication failed for user \"admin\"",
     "PGPASSFILE=~/.pgpass psql -c 'select 1'", None),
    ("make build", "error: linker failed: cannot find -lssl",
     "sudo apt-get install -y libssl-dev && make build", "The linker needs libssl; installing libssl-dev."),
]


@pytest.mark.parametrize(("failed", "error", "fix", "said"), CASES)
def test_the_same_program_run_again_with_more_is_the_fix(tmp_path: Path, failed: str, error: str, fix: str,
                                                         said: str | None) -> None:
    ws = _ws(tmp_path)
    fix_lines = []
    for _ in range(3):
        log = _Log(ws)
        log.call(failed, error, error=True)
        fix_lines.append(log.call(fix, "ok", said=said))
        log.end()
    (op,) = _ops(ws)
    assert op.kind == "error_recovery" and f"run `{fix}` instead; worked in 3 of 3 sessions" in (op.text or "")
    assert "no retry fixed it" not in (op.text or "")
    fixes = [e for e in op.evidence if e.excerpt.startswith("the fix:")]  # defect 8: the fix's own line
    assert len(fixes) == 1 and fix in fixes[0].excerpt and fixes[0].seq in fix_lines
    assert op.evidence[0].excerpt.startswith(failed) and op.evidence[1] == fixes[0]  # right after its failure


def test_an_entry_never_says_no_retry_fixed_it_when_one_did(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    for i in range(3):
        log = _Log(ws)
        log.call("git push", "fatal: The current branch release has no upstream branch.", error=True)
        if i == 0:  # fixed in one session only: too rare to recommend, but not "nothing fixed it"
            log.call("git push --set-upstream origin release", "ok")
        log.end()
    (op,) = _ops(ws)
    assert op.kind == "tool_error" and "no retry fixed it" not in (op.text or "")
    assert "a later call fixed it in only 1 of them (e.g. `git push --set-upstream origin release`)" in (op.text or "")


def test_another_file_for_the_same_program_is_not_a_fix() -> None:
    assert not serves_same_step(Step("cat notes-a.txt"), Step("cat notes-b.txt"), "")
    assert not serves_same_step(Step("git push"), Step("git status"), "")
    assert serves_same_step(Step("make build 2>&1 | tail -5"),
                            Step("sudo apt-get install -y libssl-dev && make build 2>&1 | tail -5"), "")
    assert serves_same_step(Step("psql -c 'select 1'"), Step("PGPASSFILE=~/.pgpass psql -c 'select 1'"), "")


def test_the_reason_is_kept_when_the_failing_command_differs(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    for k in range(3):
        log = _Log(ws)
        log.call(f'grep -n "ERROR" logs/pipeline-{k}/build.log.gz', "", error=True)
        log.call(f'zgrep -n "ERROR" logs/pipeline-{k}/build.log.gz', "build.log.gz:12: ERROR disk full",
                 said="The logs are gzip-compressed; zgrep reads them.")
        log.end()
    (op,) = _ops(ws)
    assert op.kind == "error_recovery" and "zgrep" in (op.text or "")
    assert 'Why: "The logs are gzip-compressed; zgrep reads them".' in (op.text or "")


def test_the_evidence_shows_the_fix_line_next_to_its_failure(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    fixes = {}
    for k in range(3):
        w = SessionWriter(ws)
        start = w.start(task={"name": "contract-review", "prompt": "p"}, model=None, workdir=None)
        w.message("user", [{"type": "text", "text": "Summarise it."}])
        w.message("assistant", [{"type": "tool_use", "id": "t1", "name": "read", "input": {"file_path": f"c{k}.docx"}}])
        w.message("user", [{"type": "tool_result", "tool_use_id": "t1", "is_error": True,
                            "content": f"c{k}.docx is a binary file (zip archive)"}])
        fix = w.message("assistant", [{"type": "tool_use", "id": "t2", "name": "bash",
                                       "input": {"command": f"pandoc -t plain c{k}.docx"}}])
        w.message("user", [{"type": "tool_result", "tool_use_id": "t2", "is_error": False, "content": "12. TERM"}])
        w.end("completed", totals={"cost_usd": 0.01})
        fixes[start["session_id"]] = fix["seq"]
    (op,) = _ops(ws)
    assert op.kind == "error_recovery" and len(op.evidence) == 4
    failure, fix_line = op.evidence[0], op.evidence[1]
    assert failure.excerpt.startswith("read(") and fix_line.session_id == failure.session_id
    assert fix_line.seq == fixes[fix_line.session_id] and fix_line.excerpt.startswith("the fix: pandoc -t plain c")
