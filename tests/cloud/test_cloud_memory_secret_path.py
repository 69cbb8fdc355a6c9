"""`cloud memory pull` skips a memory whose path holds a secret (tester D, defect 3), as the agent's memory
tool refuses such a path: the path would be a file name in the mirror, a key of the state and a line of the
output, none of which the redaction of the content reaches. The pull says which memory it skipped, redacted,
and `--json` lists it under `skipped`; the other memories are mirrored."""

from __future__ import annotations

import json

import pytest

from dreamcli.cloud.memory_pull import pull_store
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

GH_TOKEN = "ghp_" + "Q7rT2vX9zB4nM6pL8kJ3hG5fD1sA0wE2yU4i"
SECRET_PATH = f"/notes/{GH_TOKEN}.md"
SHOWN = "/notes/[REDACTED:github].md"


def _everything(ws: Workspace) -> str:
    """Every file name and content of the workspace, as one text."""
    files = [p for p in ws.root.rglob("*") if p.is_file()]
    return "\n".join([str(p) for p in ws.root.rglob("*")] + [p.read_text(errors="replace") for p in files])


def test_a_memory_whose_path_holds_a_secret_is_skipped(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = data(fake_anthropic).add_store(memories={"/notes/ok.md": "fine\n", SECRET_PATH: "notes\n"})
    out = cli_json(ws, "cloud", "memory", "pull", store)
    assert out["written"] == ["/notes/ok.md"] and out["skipped"] == [SHOWN]
    [warning] = out["warnings"]
    assert SHOWN in warning and "holds a secret" in warning
    assert GH_TOKEN not in json.dumps(out)
    assert (ws.memories_root(store) / "notes" / "ok.md").read_text() == "fine\n"
    assert GH_TOKEN not in _everything(ws)
    state = json.loads((ws.state_dir / "cloud" / "memory" / f"{store}.json").read_text())
    assert list(state["memories"]) == ["/notes/ok.md"]

    r = cli(ws, "cloud", "memory", "pull", store)  # the text output: nothing changed, the secret not shown
    assert r.exit_code == 0, r.stderr + r.stdout
    assert GH_TOKEN not in r.stdout + r.stderr
    assert SHOWN in r.stderr  # the warning, on stderr as the pull goes


def test_the_caller_is_warned_as_it_happens(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    from dreamcli.cloud.client import cloud_client
    from dreamcli.config import Config

    store = data(fake_anthropic).add_store(memories={SECRET_PATH: "notes\n"})
    warned: list[str] = []
    result = pull_store(ws, cloud_client(Config().limits), store, warned=warned.append)
    assert warned == result.warnings and len(warned) == 1 and SHOWN in warned[0]
    assert result.written == [] and result.skipped == [SHOWN]


def test_a_copy_an_older_pull_wrote_is_removed_and_shown_redacted(fake_anthropic: FakeAnthropic,
                                                                   ws: Workspace) -> None:
    store = data(fake_anthropic).add_store(memories={"/notes/ok.md": "fine\n", SECRET_PATH: "notes\n"})
    old = ws.memories_root(store) / "notes" / f"{GH_TOKEN}.md"  # as a pull before this rule left it
    old.parent.mkdir(parents=True)
    old.write_text("notes\n")
    out = cli_json(ws, "cloud", "memory", "pull", store)
    assert not old.exists() and out["removed"] == [SHOWN]
    assert GH_TOKEN not in json.dumps(out) and GH_TOKEN not in _everything(ws)
