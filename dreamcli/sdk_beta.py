"""The beta and otherwise volatile surfaces of the Anthropic API that dreamcli relies on, in one
place, so a change of their shapes lands here and nowhere else.

- The built-in memory tool's declaration (`memory_20250818`): on Anthropic's own API the `memory`
  tool is declared by type and the model knows its command set; dreamcli executes the commands
  itself (`dreamcli.agent.tools.memory`), never through SDK helpers.
"""

from __future__ import annotations

from typing import Any

MEMORY_TOOL_TYPE = "memory_20250818"


def memory_tool_param() -> dict[str, Any]:
    """The request's `tools` entry for the built-in memory tool."""
    return {"type": MEMORY_TOOL_TYPE, "name": "memory"}
