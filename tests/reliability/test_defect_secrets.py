"""Issue 21, defect 5: the memory tool wrote secrets verbatim, and secrets in the model's own tool
inputs were sent back to the model on the next turn."""

from __future__ import annotations

import json
from pathlib import Path

from dreamcli.agent.approvals import Approvals
from dreamcli.agent.tools import ToolEnv, Toolset
from dreamcli.config import Config
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.agent.test_run_loop import run

SECRETS = ["sk-ant-api03-" + "A" * 40, "AKIA" + "ABCDEFGHIJKLMNOP", "ghp_" + "x7Kq2mZ9pL4vB8nR3tY6wE1uI5oA0sDfGhJk"]


def test_memory_writes_are_redacted(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "home", "option").ensure()
    (tmp_path / "wd").mkdir()
    env = ToolEnv(ws=ws, config=Config(), workdir=tmp_path / "wd", session_id="01JD0Q8Z3V6M4T2N8K5R7W9XAB",
                  approvals=Approvals(yes=True), anthropic_endpoint=False)
    tools = Toolset(("memory",), env)
    mem = tools.get("memory")
    assert mem is not None
    text = "keys: " + " ".join(SECRETS) + "\n"
    assert not mem.execute({"command": "create", "path": "/memories/keys.md", "file_text": text}).is_error
    assert not mem.execute({"command": "insert", "path": "/memories/keys.md", "insert_line": 0,
                            "insert_text": SECRETS[0]}).is_error
    assert not mem.execute({"command": "str_replace", "path": "/memories/keys.md", "old_str": "keys:",
                            "new_str": "k " + SECRETS[2]}).is_error
    written = (ws.memories_root("default") / "keys.md").read_text()
    assert "[REDACTED" in written
    for secret in SECRETS:
        assert secret not in written
    tools.close()


def test_tool_inputs_echoed_to_the_model_are_redacted(fake_anthropic: FakeAnthropic, bare_ws: Workspace,
                                                      tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    fake_anthropic.expect(tool_reply(tool_use("read", {"file_path": SECRETS[0] + ".txt"})), text_reply("done"))
    r = run(bare_ws, wd)
    assert r.status == "completed"
    sent = json.dumps(fake_anthropic.requests[1].messages)
    for secret in SECRETS:
        assert secret not in sent
    assert "[REDACTED" in sent
