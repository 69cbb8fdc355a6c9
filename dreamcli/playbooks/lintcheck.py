"""Linting playbook entry text with the dream's rules (`dreamcli.dream.lint.lint_entry_text`).

The rules live with the dreamer; this module only calls them with the workspace's config and turns
findings into plain dicts (`severity`, `rule`, `message`). When the dream package is not available,
nothing is reported and `lint_available()` says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic stays out of the approval path unless lint runs
    from dreamcli.config import Config
    from dreamcli.workspace.home import Workspace


def _linter() -> Callable[..., Any] | None:
    try:
        from dreamcli.dream.lint import lint_entry_text
    except ImportError:
        return None
    return lint_entry_text


def lint_available() -> bool:
    return _linter() is not None


def _as_dict(finding: Any) -> dict[str, Any]:
    if isinstance(finding, dict):
        d = dict(finding)
    elif dataclasses.is_dataclass(finding) and not isinstance(finding, type):
        d = dataclasses.asdict(finding)
    else:
        d = {k: getattr(finding, k) for k in ("severity", "rule", "message") if hasattr(finding, k)}
    d.setdefault("rule", "lint")
    d.setdefault("message", str(finding))
    d["severity"] = str(d.get("severity", "warn")).lower()
    return d


def lint_text(text: str, config: Config | None = None) -> list[dict[str, Any]]:
    """Findings for one entry's text (an empty list when no linter is available)."""
    linter = _linter()
    if linter is None:
        return []
    return [_as_dict(f) for f in linter(text, config) or []]


def workspace_config(ws: Workspace) -> Config:
    from dreamcli.config import load_config

    return load_config(ws.config_path)


def redact_edit(ws: Workspace, text: str) -> tuple[str, bool]:
    """A reviewer's text with secrets redacted (workspace patterns too): secrets never reach disk."""
    from dreamcli.config import workspace_redactor

    redacted = workspace_redactor(ws.config_path).redact_text(text)
    return redacted, redacted != text
