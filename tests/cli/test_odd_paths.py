"""Odd paths that ended in an internal error (a review's reproductions): each is now a one-line exit 2
naming the path. And `init` on an existing `.dreamcli` says what it did (permissions, a symlink)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app

pytestmark = pytest.mark.usefixtures("no_model")


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def _one_line_2(r, path: Path | str) -> None:  # type: ignore[no-untyped-def]
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert "internal error" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert str(path) in r.stderr, r.stderr


def test_init_where_dreamcli_is_a_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "d2").mkdir()
    link = tmp_path / "d2" / ".dreamcli"
    link.symlink_to(tmp_path / "nowhere")
    _one_line_2(run("init", str(tmp_path / "d2")), link)
    assert not (tmp_path / "nowhere").exists()


def test_ensure_dir_on_a_dangling_symlink_is_a_usage_error(tmp_path: Path) -> None:
    from dreamcli.errors import UsageError
    from dreamcli.workspace.fsutil import ensure_dir

    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="link"):
        ensure_dir(link / "sub")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    assert run("init", str(tmp_path / "p")).exit_code == 0
    return tmp_path / "p" / ".dreamcli"


def test_config_yaml_that_is_a_directory(home: Path) -> None:
    cfg = home / "config.yaml"
    cfg.unlink()
    cfg.mkdir()
    _one_line_2(run("--home", str(home), "config", "show"), cfg)


def test_read_text_file_of_a_directory_is_an_input_error(tmp_path: Path) -> None:
    from dreamcli.errors import InputError
    from dreamcli.yamlio import read_text_file

    with pytest.raises(InputError, match="directory"):
        read_text_file(tmp_path)


def test_task_file_that_is_a_directory(home: Path, tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    task.mkdir()
    from dreamcli.agent.taskfile import load_task_file
    from dreamcli.errors import InputError

    with pytest.raises(InputError, match="directory"):
        load_task_file(task)


def test_reindex_when_the_index_is_a_directory(home: Path) -> None:
    index = home / "state" / "sessions-index.sqlite"
    index.unlink()
    index.mkdir()
    _one_line_2(run("--home", str(home), "sessions", "reindex"), index)


@pytest.mark.parametrize("field", ["workdir", "outcome"])
def test_task_path_with_a_nul_byte(tmp_path: Path, field: str) -> None:
    from dreamcli.agent.taskfile import load_task_file
    from dreamcli.errors import InputError

    task = tmp_path / "task.yaml"
    task.write_text(f'name: t\nprompt: hi\n{field}: "wd\\0x"\n')
    with pytest.raises(InputError, match=field) as err:
        load_task_file(task)
    assert str(task) in str(err.value) and "\n" not in str(err.value)


def test_init_tightens_an_open_dreamcli(tmp_path: Path) -> None:
    root = tmp_path / "p" / ".dreamcli"
    root.mkdir(parents=True)
    root.chmod(0o755)
    r = run("init", str(tmp_path / "p"))
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert "0700" in r.stderr


def test_init_through_a_symlink_to_an_empty_directory_says_it_created_the_layout(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / ".dreamcli").symlink_to(target)
    r = run("init", str(tmp_path / "p"))
    assert r.exit_code == 0, r.output
    assert (target / "config.yaml").is_file()
    assert "already exists" not in r.stderr and "Created workspace" in r.stderr
    assert str(target) in r.stderr  # where it really is
    again = run("init", str(tmp_path / "p"))
    assert "already exists" in again.stderr


def test_init_json_reports_created_through_a_symlink(tmp_path: Path) -> None:
    import json

    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / ".dreamcli").symlink_to(target)
    out = json.loads(run("init", str(tmp_path / "p"), "--json").stdout)
    assert out["created"] is True
    assert os.path.isfile(target / "config.yaml")
