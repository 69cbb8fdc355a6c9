"""Task files (docs/task-files.md): valid files load with paths resolved against the file; invalid ones are
refused with the file, line and field at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamcli.agent.spec import prompt_spec
from dreamcli.agent.taskfile import load_task_file
from dreamcli.errors import InputError, UsageError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(text)
    return path


def test_minimal_and_full_task_files(tmp_path: Path) -> None:
    spec = load_task_file(write(tmp_path, "name: t\nprompt: do it\n"))
    assert (spec.name, spec.prompt, spec.workdir, spec.tools, spec.tags) == ("t", "do it", None, None, ())
    (tmp_path / "w").mkdir()
    spec = load_task_file(write(tmp_path, "name: t\nprompt: p\nworkdir: w\noutcome: ../o.yaml\nplaybook: ops\n"
                                          "tools: [read, grep]\nmodel: claude-haiku-5-5\nmax_turns: 7\ntags: [a, b]\n"))
    assert spec.workdir == tmp_path / "w" and spec.outcome == tmp_path.parent / "o.yaml"
    assert spec.file == tmp_path / "task.yaml" and spec.tools == ("read", "grep")
    assert (spec.model, spec.max_turns, spec.tags, spec.playbook) == ("claude-haiku-5-5", 7, ("a", "b"), "ops")
    assert spec.with_overrides(model="m2", max_turns=None).model == "m2"


@pytest.mark.parametrize(("text", "where"), [
    ("name: t\nprompt: p\ncolour: red\n", ":3: colour: unknown key"),
    ("name: t\nprompt: p\nmax_turns: lots\n", ":3: max_turns:"),
    ("name: t\nprompt: p\nmax_turns: 0\n", ":3: max_turns:"),
    ("name: t\n", ":1: prompt: required field is missing"),
    ("name: t\nprompt: '   '\n", ":2: prompt:"),
    ("name: t\nprompt: p\ntools:\n  - read\n  - fly\n", ":5: tools.1: unknown tool 'fly'"),
    ("name: t\nprompt: p\nworkdir: nowhere\n", ":3: workdir: working directory"),
    ("name: t\nprompt: p\nplaybook: ../x\n", ":3: playbook:"),
    ("- just\n- a list\n", ":1: a task file is a YAML mapping"),
    ("name: [unclosed\n", ":2: invalid YAML"),
])
def test_invalid_task_files_name_file_line_and_field(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_task_file(path)
    assert str(info.value).startswith(str(path) + where), str(info.value)
    assert info.value.exit_code == 2


def test_missing_file_and_empty_prompt(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_task_file(tmp_path / "nope.yaml")
    with pytest.raises(UsageError, match="empty"):
        prompt_spec("  \n")
    assert prompt_spec("hi").name is None
