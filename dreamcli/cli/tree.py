"""Build only the part of the command tree that one run needs (docs/benchmarks.md, start-up).

Typer turns every registered function into a click command before anything runs: it reads each
signature and evaluates each annotation, about a millisecond a command, 39 in all. A run of
`dreamcli playbooks list` needs the root and the `playbooks` group. `route(args)` reads the command
that the arguments name, and `root.build_app` registers only the module of that command, through
Typer's public `add_typer`/`command`. The root's `--help`, a misspelt command and shell completion
get the whole tree, so suggestions and completion are Typer's as before; a run of a named command,
and every help page, read the same either way (tests/cli/test_start_up_imports.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

ROOT_VALUE_OPTIONS = ("--home",)  # root options that take a value
ROOT_FLAGS = ("--debug",)
ROOT_ONLY = ""  # route(): `--version` needs no command at all
ROOT_HELP = "--help"  # route(): the root's help lists the commands and the groups' summaries only


def route(args: list[str], known: Iterable[str]) -> tuple[str | None, str | None]:
    """(the top-level command, the word after it when that is not an option) named by `args`;
    (ROOT_ONLY, None) for `--version`, (ROOT_HELP, None) for the root's help; (None, None) when the
    whole tree is needed."""
    if any(k.startswith("_DREAMCLI_COMPLETE") for k in os.environ):
        return None, None
    names = set(known)
    if not args:
        return ROOT_HELP, None  # no_args_is_help
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ROOT_VALUE_OPTIONS:
            i += 2
        elif arg in ROOT_FLAGS or arg.startswith(tuple(f"{o}=" for o in ROOT_VALUE_OPTIONS)):
            i += 1
        elif arg in ("-V", "--version"):
            return ROOT_ONLY, None  # the version is printed before any command is looked at
        elif arg in ("-h", "--help"):
            return ROOT_HELP, None
        elif arg in names:
            after = args[i + 1] if i + 1 < len(args) else None
            return arg, (after if after is not None and not after.startswith("-") else None)
        else:
            return None, None
    return None, None
