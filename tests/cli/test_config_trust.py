"""A workspace's config.yaml can arrive with a cloned project (`PROJECT/.dreamcli`): its
approvals.allow_commands runs commands without asking only after this user trusted the list with
`dreamcli config trust`, recorded outside the workspace and bound to its directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.agent import config_trust
from dreamcli.cli.app import app
from dreamcli.config import load_config
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace

SHIPPED = "approvals:\n  allow_commands: [\"wc *\"]\n"


@pytest.fixture
def trust_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "state" / "trusted.json"
    monkeypatch.setenv(config_trust.TRUST_ENV, str(path))
    return path


@pytest.fixture
def cloned(tmp_path: Path) -> Workspace:
    """A workspace whose config.yaml came with the project."""
    r = CliRunner().invoke(app, ["--home", str(tmp_path / "proj" / ".dreamcli"), "init"])
    assert r.exit_code == 0, r.output
    ws = Workspace(root=tmp_path / "proj" / ".dreamcli", source="option")
    ws.config_path.write_text(SHIPPED)
    return ws


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def test_a_shipped_list_is_asked_about_until_trusted(fake_anthropic: FakeAnthropic, cloned: Workspace,
                                                     trust_file: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "wd"
    workdir.mkdir()
    (workdir / "notes.txt").write_text("a\nb\n")
    fake_anthropic.expect(
        tool_reply(tool_use("bash", {"command": "wc -l notes.txt"}, id="toolu_a")), text_reply("refused."),
        tool_reply(tool_use("bash", {"command": "wc -l notes.txt"}, id="toolu_b")), text_reply("2 lines."),
    )
    args = ["--home", str(cloned.root), "run", "-p", "Count.", "--workdir", str(workdir)]
    first = invoke(*args)  # no terminal: what is not allowed is refused
    assert first.exit_code == 0, first.output
    assert "approvals.allow_commands (1 pattern) is not trusted here" in first.stderr
    assert f"dreamcli --home {cloned.root} config trust" in first.stderr
    result = fake_anthropic.requests[1].messages[2]["content"][0]
    assert result.get("is_error") is True and "refused" in json.dumps(result).lower()

    r = invoke("--home", str(cloned.root), "config", "trust", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["allow_commands"] == ["wc *"]
    assert trust_file.stat().st_mode & 0o777 == 0o600 and not str(trust_file).startswith(str(cloned.root))
    second = invoke(*args)
    assert second.exit_code == 0, second.output
    assert "not trusted" not in second.stderr
    result = fake_anthropic.requests[-1].messages[2]["content"][0]
    assert not result.get("is_error") and "2" in json.dumps(result["content"])


def test_a_changed_list_or_a_copied_workspace_needs_trust_again(cloned: Workspace, trust_file: Path,
                                                                tmp_path: Path) -> None:
    assert invoke("--home", str(cloned.root), "config", "trust").exit_code == 0
    honoured, warning = config_trust.honoured_commands(cloned, load_config(cloned.config_path))
    assert (honoured, warning) == (["wc *"], None)

    cloned.config_path.write_text('approvals:\n  allow_commands: ["wc *", "curl *"]\n')
    honoured, warning = config_trust.honoured_commands(cloned, load_config(cloned.config_path))
    assert honoured == [] and warning is not None and "(2 patterns)" in warning

    cloned.config_path.write_text(SHIPPED)
    copy = Workspace(root=tmp_path / "copy" / ".dreamcli", source="option")
    shutil.copytree(cloned.root, copy.root)
    assert config_trust.honoured_commands(copy, load_config(copy.config_path))[0] == []
    assert config_trust.honoured_commands(cloned, load_config(cloned.config_path))[0] == ["wc *"]

    r = invoke("--home", str(cloned.root), "config", "trust", "--revoke")
    assert r.exit_code == 0 and "no longer trusted" in r.stderr
    assert config_trust.honoured_commands(cloned, load_config(cloned.config_path))[0] == []


def test_the_users_own_config_needs_no_trust(cloned: Workspace, trust_file: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "user.yaml"
    user.write_text('approvals:\n  allow_commands: ["ls *"]\n')
    monkeypatch.setenv("DREAMCLI_CONFIG", str(user))
    # the workspace's list is not trusted: the user's list below it holds
    assert config_trust.honoured_commands(cloned, load_config(cloned.config_path))[0] == ["ls *"]
    cloned.config_path.write_text('approvals:\n  allow_commands: ["ls *"]\n')  # the user's own list: no warning
    assert config_trust.honoured_commands(cloned, load_config(cloned.config_path)) == (["ls *"], None)
    cloned.config_path.write_text("dream:\n  min_support: 2\n")
    assert config_trust.honoured_commands(cloned, load_config(cloned.config_path)) == (["ls *"], None)
    r = invoke("--home", str(cloned.root), "config", "trust")
    assert r.exit_code == 0 and "nothing to trust" in r.stderr and not trust_file.exists()


def test_a_damaged_or_shared_trust_file_is_a_clear_error(cloned: Workspace, trust_file: Path) -> None:
    trust_file.parent.mkdir(parents=True)
    trust_file.write_text("{not json")
    trust_file.chmod(0o600)
    r = invoke("--home", str(cloned.root), "config", "trust")
    assert r.exit_code == 2 and "trusted.json" in r.stderr and "not a trusted-workspaces file" in r.stderr
    trust_file.write_text(json.dumps({"version": 1, "workspaces": {}}))
    trust_file.chmod(0o644)
    r = invoke("--home", str(cloned.root), "config", "trust")
    assert r.exit_code == 2 and "mode 0600" in r.stderr


def test_a_list_written_in_another_yaml_form_still_needs_trust(cloned: Workspace, trust_file: Path) -> None:
    """Found in review: a `!!binary` item is `rm -rf *` to the configuration but was compared as
    `b'rm -rf *'`, so the untrusted list was honoured without a warning."""
    cloned.config_path.write_text("approvals:\n  allow_commands: [!!binary cm0gLXJmICo=]\n")
    config = load_config(cloned.config_path)
    assert config.approvals.allow_commands == ["rm -rf *"]
    honoured, warning = config_trust.honoured_commands(cloned, config)
    assert honoured == [] and warning is not None
    assert invoke("--home", str(cloned.root), "config", "trust").exit_code == 0
    assert config_trust.honoured_commands(cloned, config) == (["rm -rf *"], None)


def test_the_list_in_effect_must_be_the_trusted_one(cloned: Workspace, trust_file: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in a second review: trust was checked on the file's list but the config's list was returned
    (a config loaded before the file changed); and a workspace file that is the user's own config (a
    symlink) lost the user's list."""
    from dreamcli.config import ApprovalsConfig, Config

    assert invoke("--home", str(cloned.root), "config", "trust").exit_code == 0
    stale = Config(approvals=ApprovalsConfig(allow_commands=["rm -rf *"]))
    honoured, warning = config_trust.honoured_commands(cloned, stale)
    assert honoured == [] and warning is not None
    user = tmp_path / "user.yaml"
    user.write_text('approvals:\n  allow_commands: ["pytest*"]\n')
    monkeypatch.setenv("DREAMCLI_CONFIG", str(user))
    cloned.config_path.unlink()
    cloned.config_path.symlink_to(user)
    assert config_trust.honoured_commands(cloned, load_config(cloned.config_path)) == (["pytest*"], None)


def test_a_fifo_or_a_directory_in_place_of_the_trust_file_is_refused_at_once(cloned: Workspace,
                                                                             trust_file: Path) -> None:
    import os

    trust_file.parent.mkdir(parents=True)
    os.mkfifo(trust_file)  # opening it for reading would wait for a writer
    r = invoke("--home", str(cloned.root), "config", "trust")
    assert r.exit_code == 2 and "must be a regular file" in r.stderr
    trust_file.unlink()
    trust_file.mkdir()
    r = invoke("--home", str(cloned.root), "config", "trust")
    assert r.exit_code == 2 and "must be a regular file" in r.stderr
