"""dreamcli/cli/group.py: a group built whole, or with only the command a run names."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from dreamcli.cli.group import Group


def _root(app: typer.Typer) -> typer.Typer:
    root = typer.Typer()
    root.callback()(lambda: None)
    root.add_typer(app, name="g")
    return root


def _commands(app: typer.Typer) -> list[str]:
    """The commands of `app` added as a group, as the CLI adds it (alone, one command is not a group)."""
    group = typer.main.get_command(_root(app)).commands["g"]  # type: ignore[attr-defined]
    return sorted(group.commands)


def _tree() -> Group:
    inner = Group(help="Inner.")
    inner.command("deep")(lambda: print("deep ran"))
    group = Group(help="Outer.", no_args_is_help=True)
    group.command("one")(lambda: print("one ran"))
    group.command("two", help="Second.")(lambda: print("two ran"))
    group.add_group(inner, "inner")
    return group


def test_only_the_named_command_is_built_and_it_runs() -> None:
    app = _tree().build("two")
    assert _commands(app) == ["two"]
    result = CliRunner().invoke(_root(app), ["g", "two"])
    assert result.exit_code == 0 and result.stdout == "two ran\n"


def test_a_nested_group_can_be_the_one_built() -> None:
    assert _commands(_tree().build("inner")) == ["inner"]


def test_no_name_or_an_unknown_one_builds_every_member() -> None:
    group = _tree()
    assert _commands(group.build()) == _commands(group.build("twoo")) == ["inner", "one", "two"]


def test_building_twice_registers_nothing_twice_and_a_copy_leaves_the_original_alone() -> None:
    group = _tree()
    group.build()
    assert len(group.build().registered_commands) == 2
    twin = group.copy()
    twin.command("three")(lambda: None)
    assert group.names() == ["one", "two", "inner"]
    assert twin.names() == ["one", "two", "inner", "three"]
