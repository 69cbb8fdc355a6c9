"""docs/cli.md stays true to the command tree (walked as tests/cli/test_flag_vocabulary.py walks it).

Fails, naming the command and the flag, when a command has a visible flag that its row of "Every command's
flags" does not name, when a row names a flag its command does not have (or a command that does not exist),
when the page names a flag no command has, or when its short-flag table gives a short flag another long name
than the tree. README's "Commands" table names flags too: each must be a flag of a command its row names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer.main

from dreamcli.cli.app import app
from tests.cli.test_flag_vocabulary import _commands
from tests.support.paths import REPO

SECTION = "## Every command's flags"
LONG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
ALWAYS = {"--help"}  # Typer's own, on every command


def _tree() -> dict[str, Any]:
    """Every command by its full name (`dreamcli sessions list`), the root as `dreamcli`."""
    return {" ".join(("dreamcli", *path)): cmd for path, cmd in _commands(typer.main.get_command(app))}


def _top(name: str) -> str:
    """The top-level command of a full name (`sessions` of `dreamcli sessions list`), "" for the root."""
    return (name.split()[1:2] or [""])[0]


def _longs(cmd: Any, *, hidden: bool) -> set[str]:
    return {o for p in cmd.params if p.param_type_name == "option" and (hidden or not p.hidden)
            for o in [*p.opts, *p.secondary_opts] if o.startswith("--")}


def _prose(text: str) -> str:
    """`text` without its fenced code blocks (a shown command line names other programs' flags)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def _rows(page: str, heading: str) -> Iterator[tuple[str, str]]:
    """(first cell, whole line) of each row of the table under `heading`."""
    body = page.split(heading, 1)[1].split("\n## ", 1)[0]
    table = [line for line in body.splitlines() if line.startswith("| ")]
    for line in table[2:]:  # past the header and its rule
        yield line.split(" | ", 1)[0], line


def _doc_rows() -> dict[str, str]:
    """Each command named in the first cell of a row of docs/cli.md's SECTION, with its row."""
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert SECTION in page, f"docs/cli.md lost its section {SECTION!r}"
    rows: dict[str, str] = {}
    for first, line in _rows(page, SECTION):
        for name in re.findall(r"`(dreamcli[^`]*)`", first):
            assert name not in rows, f"docs/cli.md: {name} has two rows"
            rows[name] = line.split(" | ", 1)[1]
    return rows


def test_every_flag_of_every_command_is_on_its_row() -> None:
    rows = _doc_rows()
    missing = []
    for name, cmd in _tree().items():
        flags = _longs(cmd, hidden=False)
        if not flags:
            continue
        if name not in rows:
            missing.append(f"{name}: no row (flags {sorted(flags)})")
            continue
        named = set(LONG.findall(rows[name]))
        missing += [f"{name} {flag}: not on its row" for flag in sorted(flags - named)]
    assert not missing, "docs/cli.md, " + SECTION.removeprefix("## ") + ":\n" + "\n".join(missing)


def test_a_row_names_only_its_commands_flags() -> None:
    tree = _tree()
    wrong = []
    for name, row in _doc_rows().items():
        if name not in tree:
            wrong.append(f"{name}: no such command")
            continue
        wrong += [f"{name} {flag}: the command has no such flag"
                  for flag in sorted(set(LONG.findall(row)) - _longs(tree[name], hidden=True) - ALWAYS)]
    assert not wrong, "docs/cli.md, " + SECTION.removeprefix("## ") + ":\n" + "\n".join(wrong)


def test_the_page_names_no_flag_that_no_command_has() -> None:
    known = set(ALWAYS).union(*(_longs(cmd, hidden=True) for cmd in _tree().values()))
    page = _prose((REPO / "docs" / "cli.md").read_text(encoding="utf-8"))
    unknown = sorted(set(LONG.findall(page)) - known)
    assert not unknown, f"docs/cli.md names flags no command has: {unknown}"


def test_the_short_flag_table_matches_the_tree() -> None:
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    table = {}
    for first, line in _rows(page, "## Short flags"):
        short = first.strip("| `")
        table[short] = LONG.findall(line.split(" | ")[1])[0]
    tree: dict[str, set[str]] = {}
    for cmd in _tree().values():
        for p in cmd.params:
            if p.param_type_name == "option" and not p.hidden:
                longs = [o for o in p.opts if o.startswith("--")]
                for short in (o for o in p.opts if not o.startswith("--")):
                    tree.setdefault(short, set()).update(longs[:1])
    tree["-h"] = {"--help"}
    assert {s: {long} for s, long in table.items()} == tree, "docs/cli.md, Short flags"


def test_the_readme_commands_table_names_real_flags() -> None:
    """A flag named on a row of README's "Commands" table belongs to a command that row names (the top-level
    commands in its first cell, with their subcommands), so a renamed or removed flag cannot linger there."""
    tree = _tree()
    top = {_top(name) for name in tree} - {""}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    wrong = []
    for first, line in _rows(readme, "## Commands"):
        groups = {w for w in re.findall(r"(?<![\w./-])([a-z]+)(?![\w-])", first) if w in top}
        assert groups, f"README, Commands: no command on the row {first!r}"
        flags = set(ALWAYS).union(*(_longs(cmd, hidden=True) for name, cmd in tree.items()
                                    if _top(name) in groups | {""}))  # "": the root's own flags
        wrong += [f"{first.strip('| ')}: {flag}" for flag in sorted(set(LONG.findall(line)) - flags)]
    assert not wrong, "README, Commands: flags those commands do not have:\n" + "\n".join(wrong)
