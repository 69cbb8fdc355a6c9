"""File tools `read`, `write`, `edit`, `glob`, `grep`: the SDK's agent toolset implementations
(`anthropic.lib.tools.agent_toolset`), confined to the workdir, behind the write approval gate.

Every path is checked with the SDK's `resolve_path` first: `..` and symlinks (even dangling ones)
are followed before the containment check, so anything that lands outside the workdir is refused
with error_kind `outside_root`. Writes and edits then go through `Approvals.check_write` with the
path relative to the workdir. Paths in glob/grep output are shown relative to the workdir.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dreamcli.agent.tools.base import Tool, ToolEnv, ToolResult, cap_output

_PATH_PROP = {"type": "string", "description": "Path relative to the working directory."}

SCHEMAS: dict[str, tuple[str, dict[str, Any]]] = {
    "read": (
        "Read a UTF-8 text file in the working directory (images and PDFs come back as content "
        "blocks). Use view_range [start_line, end_line] (1-based, end -1 for the end) for part of a "
        "large file.",
        {"type": "object", "properties": {
            "file_path": _PATH_PROP,
            "view_range": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2,
                           "description": "[start_line, end_line], 1-based."},
        }, "required": ["file_path"]},
    ),
    "write": (
        "Write a whole file in the working directory (overwrites; parent directories are created).",
        {"type": "object", "properties": {
            "file_path": _PATH_PROP,
            "content": {"type": "string", "description": "The complete new file content."},
        }, "required": ["file_path", "content"]},
    ),
    "edit": (
        "Replace text in a file by exact match. old_string must occur exactly once unless "
        "replace_all is true.",
        {"type": "object", "properties": {
            "file_path": _PATH_PROP,
            "old_string": {"type": "string", "description": "Exact text to replace."},
            "new_string": {"type": "string", "description": "Replacement text."},
            "replace_all": {"type": "boolean", "description": "Replace every occurrence."},
        }, "required": ["file_path", "old_string", "new_string"]},
    ),
    "glob": (
        "List files matching a glob pattern (e.g. **/*.py), newest first, relative to the working "
        "directory.",
        {"type": "object", "properties": {
            "pattern": {"type": "string", "description": "Relative glob pattern; '..' is not allowed."},
            "path": {"type": "string", "description": "Directory to search in (default: the working directory)."},
        }, "required": ["pattern"]},
    ),
    "grep": (
        "Search file contents for a regular expression; returns path:line:text for each match.",
        {"type": "object", "properties": {
            "pattern": {"type": "string", "description": "Regular expression."},
            "path": {"type": "string", "description": "File or directory to search (default: the working directory)."},
        }, "required": ["pattern"]},
    ),
}

_PATH_KEY = {"read": "file_path", "write": "file_path", "edit": "file_path", "glob": "path", "grep": "path"}
_WRITES = ("write", "edit")


def classify(message: str) -> str:
    """error_kind for an SDK tool error message."""
    m = message.lower()
    if "outside the session" in m or "'..' is not permitted" in m or "absolute pattern" in m:
        return "outside_root"
    if "no such file" in m or "not a directory" in m:
        return "not_found"
    if "timed out" in m:
        return "timeout"
    return "invalid_input"


class SdkFileTool(Tool):
    """One SDK file tool bound to this session's workdir."""

    def __init__(self, env: ToolEnv, name: str) -> None:
        from anthropic.lib.tools import agent_toolset as sdk

        self.env = env
        self.name = name
        self.description, self.input_schema = SCHEMAS[name]
        self.ctx = sdk.AgentToolContext(workdir=str(env.workdir))
        factory: Callable[[Any], Any] = getattr(sdk, f"beta_{name}_tool")
        self.impl = factory(self.ctx)
        self.root = Path(env.workdir).resolve()

    def _resolve(self, path: str) -> Path:
        from anthropic.lib.tools.agent_toolset import resolve_path

        return resolve_path(self.ctx, path)

    def execute(self, input: dict[str, Any]) -> ToolResult:
        from anthropic.lib.tools import ToolError

        for key in self.input_schema.get("required", []):
            if not isinstance(input.get(key), str):
                return ToolResult.error(f"{self.name}: `{key}` (a string) is required", "invalid_input")
        approval = None
        path = input.get(_PATH_KEY[self.name])
        if isinstance(path, str) and path:
            try:
                target = self._resolve(path)
            except ValueError as e:
                return ToolResult.error(f"{self.name}: {e}", classify(str(e)))
            if self.name in _WRITES:
                rel = target.relative_to(self.root).as_posix() if target.is_relative_to(self.root) else str(target)
                decision = self.env.approvals.check_write(rel)
                if not decision.approved:
                    return ToolResult.error(decision.reason, "refused", approval=decision.approval)
                approval = decision.approval
        try:
            out = self.env.runtime.run_inline_first(self.impl.call, input)
        except ToolError as e:
            text = e.content if isinstance(e.content, str) else str(e)
            return ToolResult(self._relative(text), is_error=True, error_kind=classify(str(e)), approval=approval)
        except (ValueError, TypeError) as e:
            return ToolResult.error(f"{self.name}: invalid input: {e}", "invalid_input", approval=approval)
        if not isinstance(out, str):
            return ToolResult(list(out), approval=approval)
        text, truncated = cap_output(self._relative(out), self.env.output_cap)
        truncated = truncated or "[output truncated" in out
        return ToolResult(text, truncated=truncated, approval=approval)

    def _relative(self, text: str) -> str:
        if self.name not in ("glob", "grep"):
            return text
        prefix = str(self.root) + "/"
        return "\n".join(line[len(prefix):] if line.startswith(prefix) else line for line in text.split("\n"))


def factory(name: str) -> Callable[[ToolEnv], Tool]:
    def make(env: ToolEnv) -> Tool:
        return SdkFileTool(env, name)

    make.__name__ = f"make_{name}"
    return make
