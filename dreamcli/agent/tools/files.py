"""File tools `read`, `write`, `edit`, `glob`, `grep`, confined to the workdir, behind the write
approval gate (the work itself is `dreamcli.agent.tools.file_ops`).

Every path is resolved first: `..` and symlinks (even dangling ones) are followed before the
containment check, so anything that lands outside the workdir is refused with error_kind
`outside_root`, and so is a file with other hard links. So is anything in dreamcli's own files that
lie inside the workdir (`ToolEnv.fences`: the workspace of `dreamcli init` in the project, whose
approvals and playbooks would otherwise be the agent's to rewrite, the user's config, the trust
records; another name of them, a bind mount, too, checked again on the folders a file is opened through and
the folders glob lists), for reading too; glob and grep leave them out. A
workdir that is the workspace home or lies in it or in another workspace (by any name) is refused when the
session's tools are built, whichever they are, so the run does not start (`homes.refuse_root_in_home`, called
by `Toolset`; a copy under `workdirs/` is the task's own).
Writes and edits may not touch any other folder named `.dreamcli` either (in any case): a later run
from there would take it for its workspace and load its playbooks; reading one is allowed. Then
writes and edits go through `Approvals.check_write` with the path relative to the workdir. Paths in glob/grep output are
relative to the workdir. Files the agent writes are the user's own project files: they keep the
user's umask and are not redacted. An OSError that is not about the given path (a read-only or full
disk, a permission) is `exception`, not `invalid_input`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dreamcli.agent.tools.file_ops as file_ops
from dreamcli.agent.tools.base import Tool, ToolEnv, ToolResult, cap_output
from dreamcli.agent.tools.paths import relative_to_root

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

_WRITES = ("write", "edit")


class FileTool(Tool):
    """One file tool bound to this session's workdir."""

    def __init__(self, env: ToolEnv, name: str) -> None:
        self.env = env
        self.name = name
        self.description, self.input_schema = SCHEMAS[name]
        self.root = env.workdir
        self.fences = env.fences

    def execute(self, input: dict[str, Any]) -> ToolResult:
        for key in self.input_schema.get("required", []):
            if not isinstance(input.get(key), str):
                return ToolResult.error(f"{self.name}: `{key}` (a string) is required", "invalid_input")
        approval = None
        try:
            if self.name in _WRITES:
                path = input["file_path"]
                target = file_ops.resolve(self.root, path, self.name, self.fences)
                file_ops.not_in_a_workspace(self.root, path, target, self.name)
                decision = self.env.approvals.check_write(relative_to_root(self.root, target))
                if not decision.approved:
                    return ToolResult.error(decision.reason, "refused", approval=decision.approval)
                approval = decision.approval
                out: str | list[dict[str, Any]] = (
                    file_ops.write(self.root, target, path, input["content"], private=self.env.private_workdir,
                                   fences=self.fences)
                    if self.name == "write"
                    else file_ops.edit(self.root, target, path, input["old_string"], input["new_string"],
                                       bool(input.get("replace_all")), self.fences))
            else:
                out = self._look(input)
        except file_ops.FileToolError as e:
            return ToolResult.error(str(e), e.kind, approval=approval)
        except OSError as e:
            return ToolResult.error(f"{self.name}: {e.strerror or e}", file_ops.os_error_kind(e), approval=approval)
        if not isinstance(out, str):
            return ToolResult(out, approval=approval)
        text, truncated = cap_output(out, self.env.output_cap, self.env.redact)
        return ToolResult(text, truncated=truncated or "[output truncated" in out, approval=approval)

    def _look(self, input: dict[str, Any]) -> str | list[dict[str, Any]]:
        path = input.get("path")
        if path is not None and not isinstance(path, str):
            raise file_ops.FileToolError(f"{self.name}: `path` must be a string", "invalid_input")
        if self.name == "read":
            view = input.get("view_range")
            if view is not None and not isinstance(view, list):
                raise file_ops.FileToolError("read: view_range must be [start_line, end_line]", "invalid_input")
            return file_ops.read(self.root, input["file_path"], view, self.fences)
        if self.name == "glob":
            return file_ops.glob(self.root, input["pattern"], path or None, self.fences)
        return file_ops.grep(self.root, input["pattern"], path or None, self.fences)


def factory(name: str) -> Callable[[ToolEnv], Tool]:
    def make(env: ToolEnv) -> Tool:
        return FileTool(env, name)

    make.__name__ = f"make_{name}"
    return make
