"""Issue 20, the small things: the prompt shown once, one way to write an unknown cost, task names of
imported sessions, plurals."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.sessions.importers.context import task_name_for
from dreamcli.sessions.writer import SessionWriter
from dreamcli.testing import FakeAnthropic
from dreamcli.ui.plural import count
from dreamcli.workspace.home import Workspace

PROMPT = "Summarise the termination clauses."


def _session(ws: Workspace) -> str:
    w = SessionWriter(ws)
    w.start(task={"name": "contract-review", "prompt": PROMPT}, model="claude-sonnet-5-5", workdir="/work/x")
    w.message("user", [{"type": "text", "text": PROMPT}])
    w.message("assistant", [{"type": "text", "text": "Done."}], model="claude-sonnet-5-5", stop_reason="end_turn")
    w.end("completed", totals={"turns": 1, "input_tokens": 10, "output_tokens": 5})  # no cost known
    return w.session_id


def test_show_prints_the_prompt_once_and_an_unknown_cost_as_dash(ws: Workspace) -> None:
    sid = _session(ws)
    r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "show", sid])
    assert r.exit_code == 0, r.output
    assert r.stdout.count(PROMPT) == 1
    assert "cost=-" in r.stdout and "$0.0000" not in r.stdout
    listed = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "list"])
    assert "$0.0000" not in listed.stdout


def test_show_hides_only_the_first_message_repeating_the_prompt(ws: Workspace) -> None:
    """The opening user message repeats the task prompt printed above it and is left out; a user who
    says the prompt again later is shown saying it."""
    w = SessionWriter(ws)
    w.start(task={"name": "contract-review", "prompt": PROMPT}, model=None, workdir=None)
    w.message("user", [{"type": "text", "text": PROMPT}])
    w.message("assistant", [{"type": "text", "text": "Which folder?"}])
    w.message("user", [{"type": "text", "text": "  " + PROMPT + "\n"}])
    w.end("completed", totals={"turns": 2})
    r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "show", w.session_id])
    assert r.exit_code == 0, r.output
    assert r.stdout.count(PROMPT) == 2  # the task line and the repeat, not the opening message


def test_imported_task_names_skip_scratch_folders(tmp_path: Path) -> None:
    assert task_name_for("/tmp") is None
    assert task_name_for("/tmp/tmpab12cd") is None
    assert task_name_for(str(Path.home())) is None
    assert task_name_for("/home/ana/contracts/") == "contracts"
    assert task_name_for(None) is None


def test_counts_in_words() -> None:
    assert count(1, "entry") == "1 entry" and count(2, "entry") == "2 entries"
    assert count(1, "error") == "1 error" and count(0, "error") == "0 errors"


def test_lint_summary_says_one_entry(ws: Workspace) -> None:
    from tests.support.playbooks import write_playbook

    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    r = CliRunner().invoke(app, ["--home", str(ws.root), "playbooks", "lint", "legal"])
    assert "1 entry," in r.stderr and "1 entries" not in r.stderr


def test_a_copy_workdir_task_leaves_its_folder_untouched(fake_anthropic: FakeAnthropic, tmp_path: Path) -> None:
    from dreamcli.testing import text_reply, tool_reply, tool_use

    wd = tmp_path / "sample" / "docs"
    wd.mkdir(parents=True)
    (wd / "in.txt").write_text("three\nlines\nhere\n")
    task = tmp_path / "sample" / "task.yaml"
    task.write_text("name: count\nprompt: Count.\nworkdir: docs\ncopy_workdir: true\ntools: [write]\n")
    fake_anthropic.expect(
        tool_reply(tool_use("write", {"file_path": "out.md", "content": "3\n"}, id="toolu_w")),
        text_reply("3."),
    )
    r = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "run", str(task), "--yes"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in wd.iterdir()) == ["in.txt"]  # nothing written into the sample
    (copy,) = (tmp_path / "home" / "workdirs").iterdir()
    assert (copy / "out.md").read_text() == "3\n" and (copy / "in.txt").exists()


def test_always_answer_allows_the_program_for_the_rest_of_the_session() -> None:
    from dreamcli.agent.approvals import ALWAYS, Approvals

    asked: list[str] = []

    def ask(kind: str, detail: str) -> bool | str:
        asked.append(detail)
        return ALWAYS

    gate = Approvals(ask=ask)
    assert gate.check_command("git status").approval == "asked"
    assert gate.check_command("git log -3").approval == "allowed"
    assert gate.check_command("rm -rf build").approval == "asked"
    assert asked == ["git status", "rm -rf build"]


def test_run_help_agrees_with_the_default_write_policy() -> None:
    r = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "80"})
    text = " ".join(r.stdout.split())
    assert 'allowed by default (config approvals.allow_writes: ["**"])' in text
    assert "always that program this session" in text
