"""Playbooks in context and the request shape: what the server received (system text, entry ids,
tools, prompt-cache breakpoints) and what session.start recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dreamcli import modelclient
from dreamcli.agent import RunOptions, load_task_file, prompt_spec, run_agent
from dreamcli.agent.context import select_playbooks
from dreamcli.agent.tools.memory import ENV_FORM
from dreamcli.config import Config
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.paths import REPO
from tests.support.run import invoke_run, of_type, validate_log

LEGAL = """\
---
name: legal
version: 3
updated: 2026-11-20T10:00:00Z
description: What the contract-review agent has learned about its tools and inputs.
scope:
  tasks: [contract-review]
---

# legal

## Tool workarounds

- [pb-3f9k2xab] When `read` fails on a `.docx` file with "binary file", convert it first
  (`pandoc -t plain FILE`) and read the text; worked in 7 of 8 sessions.
  <!-- dc: helpful=7 harmful=0 sources=01JD0Q8Z3V6M4T2N8K5R7W9XAB first=2026-11-01 last=2026-11-20 -->

## Corrections

- [pb-8m2k4q1z] Cite clauses by section number ("§ 12.3"), never by page.
  <!-- dc: helpful=3 harmful=0 sources=01JD0Q8Z3V6M4T2N8K5R7W9XAB first=2026-11-02 last=2026-11-18 -->
"""


def playbook(name: str, version: int, entries: list[tuple[str, str]], scope: str = "{}") -> str:
    body = "\n".join(f"- [{i}] {t}" for i, t in entries)
    return (f"---\nname: {name}\nversion: {version}\nupdated: 2026-11-20T10:00:00Z\ndescription: {name} notes\n"
            f"scope: {scope}\n---\n\n# {name}\n\n## General\n\n{body}\n")


@pytest.fixture
def context_playbooks(ws: Workspace) -> None:
    """legal (the task's), filetypes (by task), by-tag (by tag), cooking (another task) and default."""
    (ws.playbooks_dir / "legal.md").write_text(LEGAL)
    (ws.playbooks_dir / "filetypes.md").write_text(
        playbook("filetypes", 2, [("pb-aaaaaa11", "PDFs: use pdftotext -layout.")], "{tasks: [contract-review]}"))
    (ws.playbooks_dir / "by-tag.md").write_text(
        playbook("by-tag", 1, [("pb-bbbbbb22", "Legal texts: quote exactly.")], "{tags: [legal]}"))
    (ws.playbooks_dir / "cooking.md").write_text(
        playbook("cooking", 5, [("pb-cccccc33", "Salt the pasta water.")], "{tasks: [dinner]}"))
    (ws.playbooks_dir / "default.md").write_text(
        playbook("default", 1, [("pb-dddddd44", "Prefer small, checked steps.")]))


@pytest.fixture
def task(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    path = tmp_path / "contract-review.yaml"
    path.write_text("name: contract-review\nprompt: Review the contracts.\nworkdir: docs\nplaybook: legal\n"
                    "tags: [legal]\ntools: [read, memory]\n")
    return path


def test_playbook_text_and_ids_reach_the_model_and_the_log(
    fake_anthropic: FakeAnthropic, ws: Workspace, context_playbooks: None, task: Path
) -> None:
    fake_anthropic.expect(text_reply("Reviewed."))
    r = invoke_run([str(task), "--json"], ws.root)
    assert r.exit_code == 0, r.stderr
    system = fake_anthropic.requests[0].system_text
    assert "## Playbook: legal (version 3)" in system
    assert "- [pb-3f9k2xab] When `read` fails on a `.docx` file" in system
    assert '- [pb-8m2k4q1z] Cite clauses by section number ("§ 12.3"), never by page.' in system
    assert "[pb-aaaaaa11] PDFs: use pdftotext -layout." in system  # scope.tasks
    assert "[pb-bbbbbb22]" in system  # scope.tags
    assert "pb-cccccc33" not in system  # another task's playbook
    assert "[pb-dddddd44]" in system  # the workspace default playbook comes along (workspace-wide lessons)
    assert "<!-- dc:" not in system and "helpful=" not in system  # metadata stays out of the prompt
    assert "/memories" in system
    [path] = list(ws.sessions_dir.rglob("*.jsonl"))
    start = validate_log(path)[0]
    assert start["playbooks"] == [
        {"playbook": "legal", "version": 3, "entry_ids": ["pb-3f9k2xab", "pb-8m2k4q1z"]},
        {"playbook": "default", "version": 1, "entry_ids": ["pb-dddddd44"]},
        {"playbook": "by-tag", "version": 1, "entry_ids": ["pb-bbbbbb22"]},
        {"playbook": "filetypes", "version": 2, "entry_ids": ["pb-aaaaaa11"]},
    ]


def test_playbook_flag_default_and_no_playbooks(
    fake_anthropic: FakeAnthropic, ws: Workspace, context_playbooks: None, tmp_path: Path
) -> None:
    fake_anthropic.expect(text_reply("a"), text_reply("b"), text_reply("c"))
    assert invoke_run(["-p", "hi", "-C", str(tmp_path)], ws.root).exit_code == 0
    assert invoke_run(["-p", "hi", "-C", str(tmp_path), "--playbook", "cooking"], ws.root).exit_code == 0
    assert invoke_run(["-p", "hi", "-C", str(tmp_path), "--no-playbooks"], ws.root).exit_code == 0
    first, second, third = (r.system_text for r in fake_anthropic.requests)
    assert "[pb-dddddd44]" in first and "cooking" not in first  # config playbooks.default = "default"
    assert "[pb-cccccc33] Salt the pasta water." in second and "pb-dddddd44" not in second
    assert "Playbook" not in third
    bad = invoke_run(["-p", "hi", "--playbook", "../etc/passwd"], ws.root)
    assert bad.exit_code == 2 and "invalid playbook name" in bad.stderr


def test_missing_or_malformed_playbooks(ws: Workspace, context_playbooks: None) -> None:
    sel = select_playbooks(ws, task_name="contract-review", primary="nope")
    assert sel.missing == "nope" and [p.name for p in sel.placed] == ["filetypes", "legal"]
    (ws.playbooks_dir / "broken.md").write_text("no front matter\n")
    sel = select_playbooks(ws, task_name="contract-review", primary="legal")
    assert [p.name for p in sel.placed] == ["legal", "filetypes"]
    assert any("broken" in w for w in sel.warnings)
    assert select_playbooks(ws, task_name="contract-review", primary="legal", enabled=False).placed == []


def _run(ws: Workspace, wd: Path, tools: tuple[str, ...] = ("read", "memory")) -> Any:
    return run_agent(ws, Config(), prompt_spec("hi"), RunOptions(workdir=wd, tools=tools, use_playbooks=False))


def test_no_cache_control_and_explicit_schemas_off_anthropic(
    fake_anthropic: FakeAnthropic, ws: Workspace, context_playbooks: None, tmp_path: Path
) -> None:
    fake_anthropic.expect(text_reply("ok"))
    _run(ws, tmp_path)
    body = fake_anthropic.requests[0].body
    blocks = [*body["system"], *body["tools"], *body["messages"][0]["content"]]
    assert not any("cache_control" in b for b in blocks)
    assert all("input_schema" in t and t["input_schema"]["type"] == "object" for t in body["tools"])
    memory = next(t for t in body["tools"] if t["name"] == "memory")
    assert "type" not in memory and "view" in memory["input_schema"]["properties"]["command"]["enum"]


def test_prompt_caching_and_builtin_memory_on_anthropic(
    fake_anthropic: FakeAnthropic, ws: Workspace, context_playbooks: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(modelclient, "is_anthropic_endpoint", lambda: True)
    (tmp_path / "a.txt").write_text("x")
    fake_anthropic.expect(tool_reply(tool_use("read", {"file_path": "a.txt"})), text_reply("ok"))
    r = _run(ws, tmp_path)
    body = fake_anthropic.requests[1].body
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["tools"][-1] == {"type": "memory_20250818", "name": "memory", "cache_control": {"type": "ephemeral"}}
    assert "cache_control" not in body["tools"][0]
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["messages"][0]["content"][-1]  # only the newest message is marked
    assert "cache_control" not in r.path.read_text()  # the log has the history as sent, without markers


def test_memory_tool_form_can_be_forced(
    fake_anthropic: FakeAnthropic, ws: Workspace, context_playbooks: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_FORM, "builtin")
    fake_anthropic.expect(
        tool_reply(tool_use("memory", {"command": "create", "path": "/memories/notes.md", "file_text": "hi"})),
        text_reply("ok"))
    r = _run(ws, tmp_path, tools=("memory",))
    assert fake_anthropic.requests[0].body["tools"] == [{"type": "memory_20250818", "name": "memory"}]
    assert (ws.memory_store() / "memories" / "notes.md").read_text() == "hi"
    assert of_type(validate_log(r.path), "tool")[0]["error_kind"] is None


def test_sample_task_files_load() -> None:
    root = REPO
    spec = load_task_file(root / "sample_tasks" / "contract-review.yaml")
    assert spec.name == "contract-review" and spec.playbook == "legal"
    assert spec.workdir == root / "sample_tasks" / "contract-review" / "contracts"
    assert spec.outcome == root / "sample_outcomes" / "contract-review.yaml"
    assert spec.tools == ("bash", "read", "write", "glob", "grep", "memory") and spec.max_turns == 30


def test_with_proposal_tries_pending_entries_without_approving(
    fake_anthropic: FakeAnthropic, ws: Workspace, context_playbooks: None, task: Path
) -> None:
    import json

    dream_id = "01KAHV3Q8J1T0B8Z6W2XK4M5R7"
    d = ws.dreams_dir / dream_id
    d.mkdir(parents=True)
    (d / "proposal.json").write_text(json.dumps({
        "v": 1, "dream_id": dream_id, "playbook": "legal", "base_version": 3, "operations": [
            {"entry_id": "pb-newentry1", "target": "playbook", "op": "add", "section": "Corrections",
             "text": "Quote the notice period exactly as written."},
        ]}))
    live_before = (ws.playbooks_dir / "legal.md").read_bytes()
    fake_anthropic.expect(text_reply("Reviewed."))
    r = invoke_run([str(task), "--with-proposal", dream_id[:8]], ws.root)
    assert r.exit_code == 0, r.stderr
    assert f"trial of dream {dream_id}" in r.stderr
    system = fake_anthropic.requests[0].system_text
    assert "[pb-newentry1] Quote the notice period exactly as written." in system and "[pb-3f9k2xab]" in system
    assert (ws.playbooks_dir / "legal.md").read_bytes() == live_before  # nothing approved or written
    [path] = list(ws.sessions_dir.rglob("*.jsonl"))
    start = validate_log(path)[0]
    assert start["with_proposal"] == dream_id and start["trial"]["entry_ids"] == ["pb-newentry1"]
    assert start["playbooks"][0] == {"playbook": "legal", "version": 3,
                                     "entry_ids": ["pb-3f9k2xab", "pb-8m2k4q1z", "pb-newentry1"]}
    conflict = invoke_run([str(task), "--with-proposal", dream_id, "--playbook", "cooking"], ws.root)
    assert conflict.exit_code == 2 and "proposes entries for playbook 'legal'" in conflict.stderr
    missing = invoke_run([str(task), "--with-proposal", "01ZZZZZZ"], ws.root)
    assert missing.exit_code == 2 and "no dream" in missing.stderr
