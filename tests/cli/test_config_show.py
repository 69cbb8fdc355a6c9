"""Issue 20: a user-level config under the workspace's, and `dreamcli config show` with sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace


def _show(ws: Workspace, env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(ws.root), "config", "show", *args], env=env)


def test_user_config_under_the_workspace_config(ws: Workspace, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    (xdg / "dreamcli").mkdir(parents=True)
    (xdg / "dreamcli" / "config.yaml").write_text("models:\n  agent: claude-user\nlimits:\n  max_turns: 20\n")
    ws.config_path.write_text("limits:\n  max_turns: 30\n")
    env = {"XDG_CONFIG_HOME": str(xdg), "DREAMCLI_CONFIG": ""}
    r = _show(ws, env, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["config"]["models"]["agent"] == "claude-user"  # from the user's file
    assert data["config"]["limits"]["max_turns"] == 30  # the workspace wins
    assert data["sources"]["models.agent"].startswith("user (")
    assert data["sources"]["limits.max_turns"].startswith("workspace (")
    assert data["sources"]["limits.concurrency"] == "default"
    text = _show(ws, env).stdout
    assert any(line.startswith("limits.max_turns") and line.endswith("# workspace") for line in text.splitlines())


def test_dreamcli_config_names_the_user_file(ws: Workspace, tmp_path: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text("limits:\n  concurrency: 9\n")
    data = json.loads(_show(ws, {"DREAMCLI_CONFIG": str(user)}, "--json").stdout)
    assert data["config"]["limits"]["concurrency"] == 9 and data["files"]["user"] == str(user)


def test_a_bad_user_config_names_its_file(ws: Workspace, tmp_path: Path) -> None:
    user = tmp_path / "bad.yaml"
    user.write_text("limits:\n  concurrency: many\n")
    r = _show(ws, {"DREAMCLI_CONFIG": str(user)})
    assert r.exit_code == 2 and "bad.yaml" in r.stderr


@pytest.fixture(autouse=True)
def _no_real_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.delenv("DREAMCLI_CONFIG", raising=False)


def test_unset_models_show_the_default_ids_runs_use(ws: Workspace, tmp_path: Path) -> None:
    """`models.agent = null  # default` said nothing of the model a run uses: show the built-in id."""
    from dreamcli.models import DEFAULT_AGENT_MODEL, DEFAULT_DREAMER_MODEL, DEFAULT_GRADER_MODEL

    ws.config_path.write_text("models:\n  grader: claude-mine\n")
    data = json.loads(_show(ws, {}, "--json").stdout)
    assert data["config"]["models"] == {"agent": DEFAULT_AGENT_MODEL, "grader": "claude-mine",
                                        "dreamer": DEFAULT_DREAMER_MODEL}
    assert data["sources"]["models.agent"] == data["sources"]["models.dreamer"] == "default"
    assert data["sources"]["models.grader"].startswith("workspace (")
    lines = _show(ws, {}).stdout.splitlines()
    agent = next(line for line in lines if line.startswith("models.agent"))
    assert agent.split(" = ")[1].split() == [f'"{DEFAULT_AGENT_MODEL}"', "#", "default"]
    assert not [line for line in lines if " = null" in line and line.startswith("models.")]
    assert DEFAULT_GRADER_MODEL != "claude-mine"


def _set_user(tmp_path: Path, text: str) -> dict[str, str]:
    user = tmp_path / "user.yaml"
    user.write_text(text)
    return {"DREAMCLI_CONFIG": str(user)}


def _source_line(text: str, key: str) -> str:
    """The table's `# source` of `key`."""
    return next(line for line in text.splitlines() if line.startswith(f"{key} ")).rsplit("# ", 1)[1]


@pytest.mark.parametrize("unset", ["null", '""', "''", "~"])
@pytest.mark.parametrize("where", ["user", "workspace"])
def test_a_model_set_to_null_or_empty_is_the_defaults(ws: Workspace, tmp_path: Path, unset: str,
                                                      where: str) -> None:
    """`models.agent: null` (or "") in a file leaves the built-in id in effect: the default decided it, not
    the file; a real id next to it keeps its file as the source."""
    from dreamcli.models import DEFAULT_AGENT_MODEL

    text = f"models:\n  agent: {unset}\n  grader: claude-mine\n"
    env: dict[str, str] = {}
    if where == "user":
        env = _set_user(tmp_path, text)
    else:
        ws.config_path.write_text(text)
    data = json.loads(_show(ws, env, "--json").stdout)
    assert data["config"]["models"]["agent"] == DEFAULT_AGENT_MODEL
    assert data["sources"]["models.agent"] == "default"
    assert data["sources"]["models.grader"].startswith(f"{where} (")
    table = _show(ws, env).stdout
    assert _source_line(table, "models.agent") == "default"
    assert _source_line(table, "models.grader") == where


def test_a_workspace_null_over_a_user_model_is_the_defaults(ws: Workspace, tmp_path: Path) -> None:
    """The workspace's null replaces the user's id (a key is merged, not skipped): the default is in effect;
    a workspace id over a user's null is the workspace's."""
    from dreamcli.models import DEFAULT_AGENT_MODEL

    env = _set_user(tmp_path, "models:\n  agent: claude-user\n  dreamer: null\n")
    ws.config_path.write_text("models:\n  agent: null\n  dreamer: claude-ws\n")
    data = json.loads(_show(ws, env, "--json").stdout)
    assert data["config"]["models"]["agent"] == DEFAULT_AGENT_MODEL
    assert data["sources"]["models.agent"] == "default"
    assert data["config"]["models"]["dreamer"] == "claude-ws"
    assert data["sources"]["models.dreamer"].startswith("workspace (")
