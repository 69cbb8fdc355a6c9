"""dreamcli uses only the public API of its dependencies, and declares a tested range for each of them.

A dependency's private module (a dotted name with a part after the package that starts with `_`, such as
`anthropic.lib.tools._beta_builtin_memory_tool` or `anthropic._types`) can change or vanish in any release,
patch releases included, so no module in dreamcli/ imports one: not at the top, not inside a function, not
under `if TYPE_CHECKING:`, not through importlib. click is typer's implementation: dreamcli uses typer's API.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "dreamcli"
BANNED = {"click": "typer bundles click; use typer's API (typer.BadParameter, typer.echo, typer.Exit, ...)"}
# Underscore names that the standard library documents as public.
DOCUMENTED = {"os._exit", "sys._getframe", "sys._current_frames", "sys._xoptions"}


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _imports(tree: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """(node, dotted name) for every import anywhere in the tree: nested, conditional and importlib ones too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module:  # relative: dreamcli's own
                continue
            for alias in node.names:
                yield node, node.module if alias.name == "*" else f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            arg = node.args[0]
            if name in ("import_module", "__import__") and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield node, arg.value


def violations(source: str, filename: str = "<string>") -> list[str]:
    """One 'file:line: import — why' line for each import of a dependency's private module, or of click."""
    out = []
    for node, dotted in _imports(ast.parse(source, filename)):
        top, *rest = dotted.split(".")
        if top == PACKAGE:
            continue
        if top in BANNED:
            why = BANNED[top]
        elif any(_private(p) for p in rest) and dotted not in DOCUMENTED:
            why = f"'{next(p for p in rest if _private(p))}' is a private part of {top}; use its public API"
        else:
            continue
        text = " ".join((ast.get_source_segment(source, node) or dotted).split())
        out.append(f"{filename}:{node.lineno}: {text} — {why}")
    return out


def test_dreamcli_imports_no_private_module_of_a_dependency_and_no_click() -> None:
    files = sorted((ROOT / PACKAGE).rglob("*.py"))
    assert len(files) > 20, f"found only {len(files)} modules under {ROOT / PACKAGE}"
    found = [v for path in files for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not found, "imports of private or banned modules:\n" + "\n".join(found)


def test_the_scan_sees_imports_inside_functions() -> None:
    # dreamcli imports anthropic only inside functions (start-up stays light): the scan must see those.
    seen = {dotted.split(".")[0] for path in (ROOT / PACKAGE).rglob("*.py")
            for _, dotted in _imports(ast.parse(path.read_text(encoding="utf-8")))}
    assert {"anthropic", "typer", "yaml", "pydantic"} <= seen


@pytest.mark.parametrize("source", [
    "import anthropic.lib.tools._beta_builtin_memory_tool",
    "from anthropic.lib.tools._beta_builtin_memory_tool import BetaLocalFilesystemMemoryTool",
    "from anthropic.lib.tools import _beta_builtin_memory_tool",
    "from anthropic._types import NotGiven",
    "from rich._loop import loop_last",
    "import pydantic._internal._fields as f",
    "def f():\n    from anthropic._base_client import BaseClient\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from anthropic._client import Anthropic\n",
    "import importlib\nimportlib.import_module('anthropic._exceptions')",
    "import click",
    "import click.testing as ct",
    "from click.exceptions import ClickException",
    "def f():\n    from click import echo\n",
])
def test_rule_flags(source: str) -> None:
    found = violations(source, "dreamcli/x.py")
    assert len(found) == 1 and found[0].startswith("dreamcli/x.py:"), found
    lineno = int(found[0].split(":")[1])
    assert ("import" in source.splitlines()[lineno - 1]), found


@pytest.mark.parametrize("source", [
    "from __future__ import annotations",
    "import anthropic\nfrom anthropic.types import Message",
    "from anthropic import __version__",
    "import typer\nfrom typer import BadParameter",
    "from dreamcli._private import helper\nfrom . import _sibling\nfrom ._sibling import x",
    "import os\nfrom os import _exit",
    "import importlib\nimportlib.import_module(f'dreamcli.agent.tools.{name}')",
])
def test_rule_allows(source: str) -> None:
    assert violations(source) == []


# --- declared ranges -------------------------------------------------------------------------------

_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*?)\s*(?:;.*)?$")


def _declared() -> list[tuple[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"dependencies": project.get("dependencies", [])}
    groups |= {f"optional-dependencies.{k}": v for k, v in project.get("optional-dependencies", {}).items()}
    return [(group, req) for group, reqs in groups.items() for req in reqs]


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def test_every_declared_dependency_has_a_lower_and_an_upper_bound() -> None:
    declared = _declared()
    assert any(req.startswith("anthropic") for _, req in declared)
    bad = []
    for group, req in declared:
        m = _REQ.match(req)
        assert m, f"cannot parse {req!r}"
        clauses = [c.strip() for c in m.group(2).split(",") if c.strip()]
        lower = [c[2:].strip() for c in clauses if c.startswith(">=")]
        upper = [c[1:].strip() for c in clauses if c.startswith("<") and not c.startswith("<=")]
        others = [c for c in clauses if not c.startswith((">=", "<", "!="))]
        if len(lower) != 1 or len(upper) != 1 or others:
            bad.append(f"pyproject.toml [project] {group}: {req!r} is not of the form 'name>=LOW,<HIGH' "
                       "(with any '!=X' exclusions)")
        elif not (re.fullmatch(r"\d+(\.\d+)*", lower[0]) and re.fullmatch(r"\d+(\.\d+)*", upper[0])):
            bad.append(f"pyproject.toml [project] {group}: {req!r}: bounds must be plain release numbers")
        elif _release(lower[0]) >= _release(upper[0]):
            bad.append(f"pyproject.toml [project] {group}: {req!r}: the lower bound is not below the upper")
    assert not bad, "\n".join(bad)
