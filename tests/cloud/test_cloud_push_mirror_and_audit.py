"""After a push, the mirror (`memory/<store>/memories/`, what the memory tool sees as `/memories/`) holds
what the push created or updated, as a pull would write it (redacted, 0600, only inside the mirror), not
the old content until the next pull; and every push that is not `--dry-run` appends a `cloud-push`
audit record, one with nothing to send too (docs/managed-agents.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import audit, cli, cli_json, data, mode, requires_managed_agents
from tests.support.playbooks import write_playbook

pytestmark = [requires_managed_agents, pytest.mark.timeout(90)]

SECRET = "sk-ant-api03-" + "Q" * 40
TOOLS = ("pb-aaaaaaaa", "Tools", "Convert .docx with pandoc first.")
STYLE = ("pb-bbbbbbbb", "Style", "Cite the clause number.")


def _cloud(server: FakeAnthropic, store: str) -> dict[str, str]:
    return {m["path"]: m["content"] for m in data(server).memories[store].values()}


def test_a_push_writes_what_it_created_or_updated_into_the_mirror(fake_anthropic: FakeAnthropic,
                                                                 ws: Workspace) -> None:
    store = data(fake_anthropic).add_store(memories={"/notes/keep.md": "k\n"})
    write_playbook(ws, "legal", [TOOLS, STYLE])
    cli_json(ws, "cloud", "memory", "pull", store)
    root = ws.memories_root(store)

    created = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert {c["op"] for c in created["changes"]} == {"create"}
    tools = root / "playbooks" / "legal" / "tools.md"
    assert tools.read_text() == _cloud(fake_anthropic, store)["/playbooks/legal/tools.md"]
    assert mode(tools) == 0o600 and mode(tools.parent) == 0o700 and mode(tools.parent.parent) == 0o700

    write_playbook(ws, "legal", [(TOOLS[0], TOOLS[1], f"Convert .docx with pandoc first; key {SECRET}."), STYLE],
                   version=2)
    updated = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert [(c["op"], c["path"]) for c in updated["changes"]] == [("update", "/playbooks/legal/tools.md")]
    cloud = _cloud(fake_anthropic, store)["/playbooks/legal/tools.md"]
    assert SECRET not in cloud and "[REDACTED:" in cloud
    assert tools.read_text() == cloud and mode(tools) == 0o600  # the new content, redacted as sent
    assert (root / "notes" / "keep.md").read_text() == "k\n"
    pulled = cli_json(ws, "cloud", "memory", "pull", store)
    assert pulled["written"] == [] and pulled["removed"] == []  # nothing left for the pull to bring in


def test_a_push_never_writes_through_a_link_out_of_the_mirror(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                             tmp_path: Path) -> None:
    store = data(fake_anthropic).add_store()
    write_playbook(ws, "legal", [TOOLS])
    cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)
    folder = ws.memories_root(store) / "playbooks" / "legal"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tools.md").write_text("not the mirror's\n")
    (folder / "tools.md").unlink()
    folder.rmdir()
    folder.symlink_to(outside)
    write_playbook(ws, "legal", [(TOOLS[0], TOOLS[1], "Convert .docx with pandoc, then read it.")], version=2)

    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert [(c["op"], c["status"]) for c in out["changes"]] == [("update", "done")]  # the push itself goes on
    assert (outside / "tools.md").read_text() == "not the mirror's\n"
    assert sorted(p.name for p in outside.iterdir()) == ["tools.md"]


def test_a_push_with_nothing_to_send_is_audited_and_a_dry_run_is_not(fake_anthropic: FakeAnthropic,
                                                                     ws: Workspace) -> None:
    store = data(fake_anthropic).add_store()
    write_playbook(ws, "legal", [TOOLS, STYLE])
    cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)
    assert len([a for a in audit(ws) if a["action"] == "cloud-push"]) == 1

    assert cli_json(ws, "cloud", "memory", "push", "legal", "--store", store, "--dry-run")["changes"] == []
    assert len([a for a in audit(ws) if a["action"] == "cloud-push"]) == 1
    out = cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert out["changes"] == [] and out["unchanged"] == 2
    record = [a for a in audit(ws) if a["action"] == "cloud-push"][-1]
    assert record["actor"] == "tester" and record["store_id"] == store and record["playbook"] == "legal"
    assert record["changes"] == [] and record["conflicts"] == [] and record["unchanged"] == 2
    assert "interrupted" not in record
    shown = cli(ws, "playbooks", "audit", "--action", "cloud-push", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert [r.get("unchanged") for r in json.loads(shown.stdout)["records"]][-1] == 2
    plain = cli(ws, "playbooks", "audit", "--action", "cloud-push")
    assert plain.exit_code == 0 and plain.stdout.count("cloud-push") == 2, plain.stdout
    verify = cli(ws, "playbooks", "audit", "--verify", "--json")
    assert json.loads(verify.stdout)["breaks"] == [], verify.stdout


def test_a_conflict_is_wrapped_to_the_terminal_and_no_hash_or_id_is_cut(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal 80 columns wide (off one, each line whole: tests/cloud/test_cloud_push_output.py)."""
    import io

    from rich.console import Console

    from dreamcli.ui import cloud_view

    terminal = io.StringIO()
    console = Console(file=terminal, force_terminal=True, width=80, color_system=None, highlight=False)
    monkeypatch.setattr(cloud_view, "out", lambda: console)
    d = data(fake_anthropic)
    store = d.add_store()
    long = ("When `read` fails on a .docx file with binary file, convert it with pandoc -t plain first and "
            "read the text it wrote; it worked in seven of eight sessions.")
    write_playbook(ws, "legal", [(TOOLS[0], TOOLS[1], long)])
    cli_json(ws, "cloud", "memory", "push", "legal", "--store", store)
    d.write_memory(store, "/playbooks/legal/tools.md", _cloud(fake_anthropic, store)["/playbooks/legal/tools.md"]
                   + "- edited in the console by bob, who wanted a line that runs on well past eighty columns\n")
    write_playbook(ws, "legal", [(TOOLS[0], TOOLS[1], long + " Then cite the clause.")], version=2)
    cloud = d.find_memory(store, "/playbooks/legal/tools.md") or {}

    result = cli(ws, "cloud", "memory", "push", "legal", "--store", store)

    assert result.exit_code == 1, result.stderr
    lines = terminal.getvalue().splitlines()
    assert max(len(ln) for ln in lines) <= 80, "\n".join(ln for ln in lines if len(ln) > 80)
    words = terminal.getvalue().split()
    assert cloud["content_sha256"] in words and cloud["memory_version_id"] in terminal.getvalue()
    assert [w for w in words if len(w) == 64] == [w for w in words if len(w) == 64 and w.isalnum()]  # whole
    assert len([w for w in words if len(w) == 64]) == 2  # last pulled and cloud now, each whole
    assert "past eighty columns" in " ".join(words)  # the content is wrapped, not cut
    assert "Then cite the clause." in " ".join(words)
    assert lines[0].startswith("pushed 0 changes to memory store ") and lines[1].startswith("    ")
