"""`delegate` is found here by the registry's convention (a task naming tool X imports
dreamcli.agent.tools.X); the tool lives in dreamcli.agent.delegate, which registers it on import."""

from dreamcli.agent.delegate import DelegateTool, make_delegate

__all__ = ["DelegateTool", "make_delegate"]
