"""A command group declared once and built on demand, whole or with only the command a run names.

Typer turns every command of a group into a click command before anything runs (about 0.3 ms each,
more with Typer 0.2x). `dreamcli playbooks list` needs one of the group's ten. A `Group` collects its
commands with the decorator Typer has (`@group.command("list", epilog=...)`) and its nested groups
(`add_group`), and `build(only)` hands them to a fresh `typer.Typer` through its public `command` and
`add_typer`: all of them, or only `only` when it names one (dreamcli/cli/tree.py says which). A help
page reads the same either way: the group's own help, a misspelt name and completion get every command
(tests/cli/test_start_up_imports.py). Building twice never registers a command twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])
Member = tuple[str, Callable[[typer.Typer], None]]  # (its name, what adds it to a Typer group)


class Group:
    """The commands and nested groups of one command group, in the order they were declared."""

    def __init__(self, **settings: Any) -> None:
        self.settings = settings  # typer.Typer's own (help, epilog, no_args_is_help ...)
        self._members: list[Member] = []

    def command(self, name: str, **options: Any) -> Callable[[F], F]:
        """Declare `name` as typer.Typer.command would register it (`options` are its own)."""

        def declare(fn: F) -> F:
            def add(app: typer.Typer) -> None:
                app.command(name, **options)(fn)

            self._members.append((name, add))
            return fn

        return declare

    def add_group(self, group: Group, name: str) -> None:
        self._members.append((name, lambda app: app.add_typer(group.build(), name=name)))

    def copy(self) -> Group:
        """A group with the same members, to declare more on (commands another module adds at build time)."""
        twin = Group(**self.settings)
        twin._members = list(self._members)
        return twin

    def names(self) -> list[str]:
        return [name for name, _ in self._members]

    def build(self, only: str | None = None) -> typer.Typer:
        """A new Typer group: every member, or only `only` when it names one."""
        app = typer.Typer(**self.settings)
        keep = only if only in self.names() else None
        for name, add in self._members:
            if keep is None or name == keep:
                add(app)
        return app
