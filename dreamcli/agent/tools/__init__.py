"""Agent tools: the interface (base), the registry and the built-ins (bash, files, memory).

See `dreamcli.agent.tools.base` for the Tool/ToolEnv interface, `dreamcli.agent.tools.result` for
ToolResult and `dreamcli.agent.tools.registry` for adding a tool (`register_tool`). Modules inside
this package import each other directly, never through this file.
"""

from dreamcli.agent.tools.base import Tool, ToolEnv, ToolResult, cap_output
from dreamcli.agent.tools.registry import DEFAULT_TOOLS, Toolset, get_factory, known_tools, register_tool

__all__ = [
    "DEFAULT_TOOLS",
    "Tool",
    "ToolEnv",
    "ToolResult",
    "Toolset",
    "cap_output",
    "get_factory",
    "known_tools",
    "register_tool",
]
