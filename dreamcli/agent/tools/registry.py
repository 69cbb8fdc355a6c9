"""The tool registry and a session's toolset.

    from dreamcli.agent.tools.registry import register_tool
    register_tool("delegate", make_delegate)     # a factory: ToolEnv -> Tool

Built-in tools: bash, read, write, edit, glob, grep, memory (DEFAULT_TOOLS, used when a task lists
none). Other tools are registered by the module that provides them: dreamcli.orchestration registers
`delegate` when it is imported (the CLI imports it), so this package never imports it. A name that
is neither built in nor registered is also looked up by convention: `dreamcli.agent.tools.X` is
imported once and must call `register_tool("X", ...)`. The loop never needs editing to add a tool.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import threading
from collections.abc import Iterable
from typing import Any

from dreamcli.agent.tools.base import Tool, ToolEnv, ToolFactory

DEFAULT_TOOLS = ("bash", "read", "write", "edit", "glob", "grep", "memory")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FACTORIES: dict[str, ToolFactory] = {}
_lock = threading.Lock()
_builtins_loaded = False
_NOT_TOOLS = ("base", "registry", "result", "files", "file_ops", "globbing", "homes", "memory_ops", "mounts", "paths",
              "shell")  # modules here


def register_tool(name: str, factory: ToolFactory, *, replace: bool = False) -> None:
    """Make a tool available to task files and `run_agent` under `name`."""
    if not _NAME_RE.match(name):
        raise ValueError(f"invalid tool name {name!r}")
    with _lock:
        if name in _FACTORIES and not replace and _FACTORIES[name] is not factory:
            raise ValueError(f"tool {name!r} is already registered")
        _FACTORIES[name] = factory


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    from dreamcli.agent.tools.bash import make_bash
    from dreamcli.agent.tools.files import factory
    from dreamcli.agent.tools.memory import make_memory

    for name in ("read", "write", "edit", "glob", "grep"):
        _FACTORIES.setdefault(name, factory(name))
    _FACTORIES.setdefault("bash", make_bash)
    _FACTORIES.setdefault("memory", make_memory)
    _builtins_loaded = True


def get_factory(name: str) -> ToolFactory | None:
    """The factory for `name`, importing `dreamcli.agent.tools.<name>` once if needed."""
    _load_builtins()
    if name in _FACTORIES:
        return _FACTORIES[name]
    if not _NAME_RE.match(name) or name in _NOT_TOOLS:
        return None
    try:
        importlib.import_module(f"dreamcli.agent.tools.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"dreamcli.agent.tools.{name}":
            raise
        return None
    return _FACTORIES.get(name)


def known_tools() -> list[str]:
    _load_builtins()
    return sorted(_FACTORIES)


class Toolset:
    """The tool instances of one session, in the order given."""

    def __init__(self, names: Iterable[str], env: ToolEnv) -> None:
        """Raises OwnFiles (a ValueError: the run refuses to start) when the workdir is, or lies in, a dreamcli
        workspace by any name (`homes.refuse_root_in_home`), whatever the tools: none is made there."""
        from dreamcli.agent.tools.homes import refuse_root_in_home
        from dreamcli.workspace.workdirs import workdirs_root

        refuse_root_in_home(env.workdir, env.ws.root, workdirs_root(env.ws))
        self.env = env
        self.tools: dict[str, Tool] = {}
        for name in names:
            factory = get_factory(name)
            if factory is None:
                raise ValueError(f"unknown tool {name!r} (known: {', '.join(known_tools())})")
            if name not in self.tools:
                self.tools[name] = factory(env)
        callbacks = env.run.callbacks if env.run is not None else None
        hook = getattr(callbacks, "on_toolset", None)  # a supervisor keeps it to close on Ctrl-C
        if hook is not None:
            hook(self)

    def get(self, name: str) -> Tool | None:
        return self.tools.get(name)

    def params(self, *, cache: bool = False) -> list[dict[str, Any]]:
        """The request's `tools` list; with `cache`, a cache breakpoint on the last tool."""
        out = [t.to_param() for t in self.tools.values()]
        if cache and out:
            out[-1] = {**out[-1], "cache_control": {"type": "ephemeral"}}
        return out

    def close(self) -> None:
        for tool in self.tools.values():
            with contextlib.suppress(Exception):
                tool.close()
