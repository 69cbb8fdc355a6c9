"""A workspace copied or moved elsewhere grades its `copy_workdir` sessions against its own copies under
`workdirs/`, not the folders of the workspace it was copied from (the session logs record the copy's
absolute path): file checks read the copy's files, a command check runs (and writes) in the copy, and
the original's removal changes nothing. A workdir that is the user's own folder stays as recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.testing import FakeAnthropic, text_reply
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.workdirs import workdir_here
from tests.support.outcomes import make_session, write_spec

REGEX_SPEC = """
name: t1003
criteria:
  - id: t1003-present
    check: {type: regex, in: decisions.json, value: 'T-1003'}
"""

COMMAND_SPEC = """
name: where
criteria:
  - id: where
    check: {type: command, run: "pwd > cwd.txt", timeout: 20}
"""


def grade(home: Path, sid: str, spec: Path) -> dict:  # type: ignore[type-arg]
    r = CliRunner().invoke(app, ["--home", str(home), "grade", sid, "--outcome", str(spec), "--json"])
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)["results"][0]  # type: ignore[no-any-return]


@pytest.fixture
def original(fake_anthropic: FakeAnthropic, tmp_path: Path) -> tuple[Path, str, Path]:
    """(workspace home, session id, the run's copy) of a `copy_workdir` task run in tmp_path/a."""
    src = tmp_path / "task" / "tickets"
    src.mkdir(parents=True)
    (src / "decisions.json").write_text('{"decisions": []}\n')
    task = tmp_path / "task" / "task.yaml"
    task.write_text("name: refund-policy\nprompt: Decide.\nworkdir: tickets\ncopy_workdir: true\n")
    fake_anthropic.expect(text_reply("Decided."))
    home = tmp_path / "a" / ".dreamcli"
    r = CliRunner().invoke(app, ["--home", str(home), "run", str(task), "--yes"])
    assert r.exit_code == 0, r.output
    (copy,) = (home / "workdirs").iterdir()
    (log,) = (home / "sessions").rglob("*.jsonl")
    assert f'"workdir":"{copy}"' in log.read_text().replace(" ", "")  # recorded absolute, as it is
    return home, log.stem, copy


def test_a_copied_workspace_grades_its_own_copy_not_the_original(original: tuple[Path, str, Path],
                                                                 tmp_path: Path) -> None:
    home, sid, copy = original
    shutil.copytree(tmp_path / "a", tmp_path / "b", symlinks=True)
    home_b = tmp_path / "b" / ".dreamcli"
    copy_b = home_b / "workdirs" / copy.name
    (copy / "decisions.json").write_text('{"decisions": [{"ticket": "T-1003"}]}\n')  # only the original's
    regex = write_spec(tmp_path / "regex.yaml", REGEX_SPEC)

    assert grade(home, sid, regex)["result"] == "satisfied"  # the original grades its own file
    assert grade(home_b, sid, regex)["result"] == "needs_revision"  # the copy's file has no T-1003

    command = write_spec(tmp_path / "command.yaml", COMMAND_SPEC)
    assert grade(home_b, sid, command)["result"] == "satisfied"
    assert (copy_b / "cwd.txt").read_text().strip() == str(copy_b)  # run in the copy's folder
    assert not (copy / "cwd.txt").exists()  # nothing written into the original's

    shutil.rmtree(tmp_path / "a")
    (copy_b / "decisions.json").write_text('{"decisions": [{"ticket": "T-1003"}]}\n')
    result = grade(home_b, sid, regex)
    assert result["result"] == "satisfied", result["criteria"][0]["reason"]


def test_a_moved_workspace_grades_its_copy(original: tuple[Path, str, Path], tmp_path: Path) -> None:
    _, sid, copy = original
    (copy / "decisions.json").write_text('{"decisions": [{"ticket": "T-1003"}]}\n')
    (tmp_path / "a").rename(tmp_path / "moved")
    regex = write_spec(tmp_path / "regex.yaml", REGEX_SPEC)
    assert grade(tmp_path / "moved" / ".dreamcli", sid, regex)["result"] == "satisfied"


def test_the_users_own_workdir_is_graded_where_it_is(ws: Workspace, tmp_path: Path) -> None:
    """A workdir that is no copy (the user's project) is what the user ran in: graded there, even when it
    is a folder named `workdirs`, or this workspace has a copy of the same name."""
    project = tmp_path / "projects" / "workdirs" / "api"
    project.mkdir(parents=True)
    (project / "decisions.json").write_text("T-1003\n")
    (ws.root / "workdirs" / "api").mkdir(parents=True)
    (ws.root / "workdirs" / "api" / "decisions.json").write_text("none\n")
    sid = make_session(ws, workdir=project)
    regex = write_spec(tmp_path / "regex.yaml", REGEX_SPEC)
    assert grade(ws.root, sid, regex)["result"] == "satisfied"


COPY = "refund-policy-01m97dba19bvmez7gnsh3nhgvd"


@pytest.mark.parametrize("recorded", [
    f"/elsewhere/.dreamcli/workdirs/{COPY}/..",
    f"/elsewhere/.dreamcli/workdirs/{COPY}/sub",
    f"/elsewhere/.dreamcli/workdirs/../workdirs/{COPY}x",
    "/elsewhere/.dreamcli/workdirs/..",
    "/elsewhere/.dreamcli/workdirs/.",
    f"/elsewhere/.dreamcli/notworkdirs/{COPY}",
    f"/elsewhere/.dreamcli/workdirs/{COPY}\0",
    f"relative/workdirs/{COPY}/../../../{COPY}",
])
def test_a_recorded_path_leads_nowhere_but_a_copy_of_this_workspace(ws: Workspace, recorded: str) -> None:
    (ws.root / "workdirs" / COPY / "sub").mkdir(parents=True)
    assert workdir_here(ws, recorded) == recorded  # kept as the log says: not mapped onto this workspace


def test_a_copy_is_mapped_only_when_this_workspace_has_it(ws: Workspace, tmp_path: Path) -> None:
    recorded = f"/elsewhere/.dreamcli/workdirs/{COPY}"
    assert workdir_here(ws, recorded) == recorded
    assert workdir_here(ws, None) is None
    (ws.root / "workdirs").mkdir(exist_ok=True)
    (ws.root / "workdirs" / COPY).symlink_to(tmp_path)  # a link leading out of workdirs/: not followed
    assert workdir_here(ws, recorded) == recorded
    (ws.root / "workdirs" / COPY).unlink()
    (ws.root / "workdirs" / COPY).mkdir()
    assert workdir_here(ws, recorded) == str(ws.root / "workdirs" / COPY)


@pytest.mark.parametrize("task", ["refund-policy", "a", "_x_", "日本", "../x", "v1.2 final", None, "-" * 80 + "z"])
def test_every_copy_name_is_recognised_as_a_copy(ws: Workspace, task: str | None) -> None:
    from dreamcli.workspace.workdirs import COPY_NAME, copy_name

    name = copy_name(task)
    assert COPY_NAME.fullmatch(name), name
    (ws.root / "workdirs" / name).mkdir(parents=True)
    assert workdir_here(ws, f"/elsewhere/.dreamcli/workdirs/{name}") == str(ws.root / "workdirs" / name)
