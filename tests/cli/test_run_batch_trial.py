"""`run a.yaml b.yaml --with-proposal D` with a proposal no run could use (nothing left to place, no such
dream, --no-playbooks, another --playbook) is refused once, up front, with the line and exit code of
`run a.yaml --with-proposal D` (2): no run starts, no session is written, nothing reaches the model. What
the trial places does not depend on the task (it is the dream's playbook for every task), so a usable
proposal is tried by every run of the batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.playbooks.approval import approve
from dreamcli.testing import FakeAnthropic, RecordedRequest, Reply, text_reply
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, workspace, write_dream, write_playbook

DREAM = "01JD3Z0000000000000000TRN1"


def _tasks(ws: Workspace) -> list[str]:
    (ws.root.parent / "work").mkdir()
    out = []
    for name in ("a", "b"):
        task = ws.root.parent / f"{name}.yaml"
        task.write_text(f"name: task-{name}\nprompt: Review.\nworkdir: work\nplaybook: legal\ntools: [read]\n")
        out.append(str(task))
    return out


def _seed(tmp_path: Path) -> Workspace:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=1)
    write_dream(ws, DREAM, "legal", [op("pb-try00001", text="Quote notice periods exactly.")], base_version=1)
    return ws


def _decided(ws: Workspace) -> list[str]:
    approve(ws, DREAM, entry_ids=["pb-try00001"])
    return ["--with-proposal", DREAM]


UNUSABLE = {
    "nothing left to place": _decided,
    "no such dream": lambda ws: ["--with-proposal", "01JDNOSUCH"],
    "no playbooks": lambda ws: ["--with-proposal", DREAM, "--no-playbooks"],
    "another playbook": lambda ws: ["--with-proposal", DREAM, "--playbook", "other"],
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
@pytest.mark.parametrize("as_json", [False, True])
def test_an_unusable_proposal_is_refused_once_before_any_run(fake_anthropic: FakeAnthropic, tmp_path: Path,
                                                             case: str, as_json: bool) -> None:
    ws = _seed(tmp_path)
    a, b = _tasks(ws)
    flags = UNUSABLE[case](ws) + ["--yes"] + (["--json"] if as_json else [])
    one = cli(ws, "run", a, *flags)
    assert one.exit_code == 2, one.output
    (line,) = one.stderr.strip().splitlines()
    many = cli(ws, "run", a, b, *flags)
    assert many.exit_code == 2, many.output
    assert many.stderr.strip().splitlines() == [line]  # the same one line, once
    assert many.stdout == ""  # no summary table, no JSON document of failed runs
    assert not fake_anthropic.requests
    assert not list(ws.sessions_dir.rglob("*"))  # not a session, not even its day's directory


def test_a_usable_proposal_is_tried_by_every_task(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    ws = _seed(tmp_path)
    fake_anthropic.expect(text_reply("Done."), text_reply("Done."))
    r = cli(ws, "run", *_tasks(ws), "--with-proposal", DREAM[:8], "--yes", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["counts"] == {"total": 2, "ok": 2, "failed": 0, "interrupted": 0, "not_started": 0}
    assert all("[pb-try00001] Quote notice periods exactly." in q.system_text for q in fake_anthropic.requests)
    starts = [json.loads(p.read_text().splitlines()[0]) for p in ws.sessions_dir.rglob("*.jsonl")]
    assert sorted(s["task"]["name"] for s in starts) == ["task-a", "task-b"]
    assert all(s["with_proposal"] == DREAM and s["trial"]["entry_ids"] == ["pb-try00001"] for s in starts)


def test_an_entry_decided_while_the_batch_runs_refuses_only_the_later_runs(fake_anthropic: FakeAnthropic,
                                                                          tmp_path: Path) -> None:
    """The only way a proposal is usable for one task and not another: each run builds its trial when it
    starts, so the last pending entry approved during the first run refuses the second one alone."""
    ws = _seed(tmp_path)

    def approve_then_answer(req: RecordedRequest) -> Reply:
        approve(ws, DREAM, entry_ids=["pb-try00001"])
        return text_reply("Done.")

    fake_anthropic.responder = approve_then_answer
    r = cli(ws, "run", *_tasks(ws), "--with-proposal", DREAM, "--yes", "--parallel", "1", "--json")
    assert r.exit_code == 1, r.output
    runs = json.loads(r.stdout)["runs"]
    assert [(x["task"], x["status"]) for x in runs] == [("task-a", "completed"), ("task-b", "error")]
    assert "no pending playbook entries to try" in runs[1]["error"] and runs[1]["session_id"] is None
    assert r.stderr.strip().splitlines()[-1] == "error: 1 of 2 runs failed"
    assert len(fake_anthropic.requests) == 1
