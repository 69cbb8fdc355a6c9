"""The `memory` tool (`memory_20250818` command set: view, create, str_replace, insert, delete,
rename) on a workspace memory store (`dreamcli.agent.tools.memory_ops`).

Files live in `memory/<store>/memories/` of the workspace, which the model sees as `/memories/`;
paths outside it, `..`, symlink and hard-link escapes are refused, and so is a store folder
that is a symlink (a cloned workspace's `memory/<store>/memories` may point anywhere). On Anthropic's API the tool
is declared as the built-in (`dreamcli.sdk_beta.memory_tool_param`); elsewhere (local
servers drop the schemas of schema-less built-ins) it is a custom tool named `memory` with an
explicit input_schema. `DREAMCLI_MEMORY_TOOL=builtin|custom` forces either form.

Memory is written to disk and read back by later runs, so every text the model writes into it
(`file_text`, `new_str`, `insert_text`), and the whole text of the file it leaves, is redacted first
(the session's: `ToolEnv.redact`); a new path holding a secret is refused.
"""

from __future__ import annotations

import os
from typing import Any

from dreamcli.agent.tools.base import Tool, ToolEnv, ToolResult, cap_output
from dreamcli.agent.tools.file_ops import os_error_kind
from dreamcli.agent.tools.memory_ops import MemoryStore, MemoryToolError
from dreamcli.sdk_beta import memory_tool_param
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


_WRITTEN = ("file_text", "new_str", "insert_text")


def builtin_form(anthropic_endpoint: bool) -> bool:
    forced = os.environ.get(ENV_FORM, "").strip().lower()
    if forced in ("builtin", "custom"):
        return forced == "builtin"
    return anthropic_endpoint


class MemoryTool(Tool):
    name = "memory"
    description = DESCRIPTION
    input_schema = INPUT_SCHEMA

    def __init__(self, env: ToolEnv) -> None:
        self.env = env
        root = env.ws.memories_root(env.memory_store)
        self.store = MemoryStore(root, anchor=env.ws.root, redact=self._redact)
        if self.store.root_problem() is None:  # else every command says what is wrong
            ensure_dir(root)
        self.builtin = builtin_form(env.anthropic_endpoint)

    def _redact(self, text: str) -> str:
        """The session's redaction (`ToolEnv.redact`: the run's redactor, and the secret values the session
        redacted before, a password a tool printed included)."""
        return self.env.redact(text)

    def to_param(self) -> dict[str, Any]:
        if self.builtin:
            return memory_tool_param()
        return super().to_param()

    def key_argument(self, input: dict[str, Any]) -> str:
        path = input.get("path") or input.get("old_path") or ""
        return f"{input.get('command', '?')} {path}".strip()

    def execute(self, input: dict[str, Any]) -> ToolResult:
        command = input.get("command")
        if command not in COMMANDS:
            return ToolResult.error(f"memory: unknown command {command!r}; use one of {', '.join(COMMANDS)}",
                                    "invalid_input")
        missing = [k for k in _REQUIRED[command] if input.get(k) is None]
        if missing:
            return ToolResult.error(f"memory {command}: missing {', '.join(missing)}", "invalid_input")
        wrong = [k for k in _REQUIRED[command] if k != "insert_line" and not isinstance(input[k], str)]
        if wrong:
            return ToolResult.error(f"memory {command}: {', '.join(wrong)} must be text", "invalid_input")
        store = self.store
        input = {k: self._redact(v) if k in _WRITTEN and isinstance(v, str) else v
                 for k, v in input.items()}
        try:
            if command == "view":
                text = store.view(input["path"], input.get("view_range"))
            elif command == "create":
                text = store.create(input["path"], input["file_text"])
            elif command == "str_replace":
                text = store.str_replace(input["path"], input["old_str"], input["new_str"])
            elif command == "insert":
                text = store.insert(input["path"], input["insert_line"], input["insert_text"])
            elif command == "delete":
                text = store.delete(input["path"])
            else:
                text = store.rename(input["old_path"], input["new_path"])
        except MemoryToolError as e:
            return ToolResult.error(str(e), e.kind)
        except OSError as e:
            return ToolResult.error(f"memory {command}: {e.strerror or e}", os_error_kind(e))
        text, truncated = cap_output(text, self.env.output_cap, self.env.redact)
        return ToolResult(text, truncated=truncated)


def make_memory(env: ToolEnv) -> Tool:
    return MemoryTool(env)
