"""The `memory` tool (`memory_20250818` command set: view, create, str_replace, insert, delete,
rename), implemented by the SDK's `BetaLocalFilesystemMemoryTool` on a workspace memory store.

Files live in `memory/<store>/memories/` of the workspace, which the model sees as `/memories/`;
paths outside it, `..` and symlink escapes are refused by the SDK tool. On Anthropic's API the tool
is declared as the built-in `{"type": "memory_20250818", "name": "memory"}`; elsewhere (local
servers drop the schemas of schema-less built-ins) it is a custom tool named `memory` with an
explicit input_schema. `DREAMCLI_MEMORY_TOOL=builtin|custom` forces either form.
"""

from __future__ import annotations

import os
from typing import Any

from dreamcli.agent.tools.base import Tool, ToolEnv, ToolResult, cap_output
from dreamcli.workspace.fsutil import ensure_dir

COMMANDS = ("view", "create", "str_replace", "insert", "delete", "rename")
ENV_FORM = "DREAMCLI_MEMORY_TOOL"

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "command": {"type": "string", "enum": list(COMMANDS)},
        "path": {"type": "string", "description": "A path under /memories (view, create, str_replace, "
                 "insert, delete)."},
        "view_range": {"type": "array", "items": {"type": "integer"}, "description": "view: [start, end] lines."},
        "file_text": {"type": "string", "description": "create: the file content."},
        "old_str": {"type": "string", "description": "str_replace: exact text to replace (unique)."},
        "new_str": {"type": "string", "description": "str_replace: replacement text."},
        "insert_line": {"type": "integer", "description": "insert: line number to insert after (0 = top)."},
        "insert_text": {"type": "string", "description": "insert: text to insert."},
        "old_path": {"type": "string", "description": "rename: current path under /memories."},
        "new_path": {"type": "string", "description": "rename: new path under /memories."},
    },
    "required": ["command"],
}

DESCRIPTION = (
    "Your persistent memory directory /memories, kept between sessions. Check it at the start of a "
    "task for earlier progress and lessons; record what future runs should know. Commands: view "
    "(a directory listing or a file with line numbers), create, str_replace, insert, delete, rename."
)

_REQUIRED = {
    "view": ("path",), "create": ("path", "file_text"), "str_replace": ("path", "old_str", "new_str"),
    "insert": ("path", "insert_line", "insert_text"), "delete": ("path",), "rename": ("old_path", "new_path"),
}


def builtin_form(anthropic_endpoint: bool) -> bool:
    forced = os.environ.get(ENV_FORM, "").strip().lower()
    if forced in ("builtin", "custom"):
        return forced == "builtin"
    return anthropic_endpoint


def _kind(message: str) -> str:
    m = message.lower()
    if "escape" in m or "must start with /memories" in m or "symlink" in m:
        return "outside_root"
    if "does not exist" in m or ("not found" in m and "old_str" not in m):
        return "not_found"
    return "invalid_input"


class MemoryTool(Tool):
    name = "memory"
    description = DESCRIPTION
    input_schema = INPUT_SCHEMA

    def __init__(self, env: ToolEnv) -> None:
        from anthropic.lib.tools._beta_builtin_memory_tool import BetaLocalFilesystemMemoryTool

        base = env.ws.memory_store(env.memory_store)
        ensure_dir(base)
        self.impl = BetaLocalFilesystemMemoryTool(base_path=str(base))
        self.builtin = builtin_form(env.anthropic_endpoint)
        self.env = env

    def to_param(self) -> dict[str, Any]:
        if self.builtin:
            return dict(self.impl.to_dict())
        return super().to_param()

    def key_argument(self, input: dict[str, Any]) -> str:
        path = input.get("path") or input.get("old_path") or ""
        return f"{input.get('command', '?')} {path}".strip()

    def execute(self, input: dict[str, Any]) -> ToolResult:
        from anthropic.lib.tools import ToolError

        command = input.get("command")
        if command not in COMMANDS:
            return ToolResult.error(f"memory: unknown command {command!r}; use one of {', '.join(COMMANDS)}",
                                    "invalid_input")
        missing = [k for k in _REQUIRED[command] if input.get(k) is None]
        if missing:
            return ToolResult.error(f"memory {command}: missing {', '.join(missing)}", "invalid_input")
        try:
            out = self.impl.call(input)
        except ToolError as e:
            return ToolResult.error(str(e), _kind(str(e)))
        except (ValueError, TypeError, AttributeError, OSError) as e:
            return ToolResult.error(f"memory {command}: {e}", "invalid_input")
        text = out if isinstance(out, str) else str(out)
        text, truncated = cap_output(text, self.env.output_cap)
        return ToolResult(text, truncated=truncated)


def make_memory(env: ToolEnv) -> Tool:
    return MemoryTool(env)
