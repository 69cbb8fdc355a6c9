"""The workspace ("home"): resolution, layout, permissions, locks and atomic writes."""

from dreamcli.workspace.home import Workspace, resolve_home

__all__ = ["Workspace", "resolve_home"]
