"""Building agent tools for a test and calling them (tests/agent/test_*tools*.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamcli.agent.approvals import Approvals
from dreamcli.agent.tools import ToolEnv, Toolset
from dreamcli.agent.tools.base import ToolResult
from dreamcli.config import Config
from dreamcli.workspace.home import Workspace

SESSION_ID = "01JD0Q8Z3V6M4T2N8K5R7W9XAB"


def make_tools(tmp_path: Path, wd: Path, names: tuple[str, ...], *, config: Config | None = None,
               approvals: Approvals | None = None, anthropic: bool = False) -> Toolset:
    """`names` over the workdir `wd`, with a throwaway workspace at tmp_path/home; every call allowed."""
    ws = Workspace(tmp_path / "home", "option").ensure()
    env = ToolEnv(ws=ws, config=config or Config(), workdir=wd, session_id=SESSION_ID,
                  approvals=approvals or Approvals(yes=True), anthropic_endpoint=anthropic)
    return Toolset(names, env)


def call(ts: Toolset, name: str, **input: Any) -> ToolResult:
    tool = ts.get(name)
    assert tool is not None
    return tool.execute(input)
