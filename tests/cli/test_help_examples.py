"""Every command's --help has an Examples block, and at 80 columns every example line in it is shown as it
was written: never rewrapped mid-command, never joined to the next one, never wider than the terminal
(README: "Every command has `--help` with examples"; a copied example must run)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from dreamcli.cli.app import app


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    for name, sub in (getattr(cmd, "commands", None) or {}).items():
        if not getattr(sub, "hidden", False):
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _examples(source: str) -> list[str]:
    """The example lines as written: after `Examples:`, up to the first blank line (click's `\\b` skipped)."""
    lines = source.split("\n")
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "Examples:"), None)
    assert start is not None, "no Examples: block"
    block: list[str] = []
    for ln in lines[start + 1:]:
        if ln.strip() in ("", "\b"):
            if block:
                break
            continue
        block.append(ln.strip())
    return block


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) or "dreamcli" for p, _ in COMMANDS])
def test_help_examples_are_shown_unwrapped_at_80_columns(path: tuple[str, ...], cmd: Any) -> None:
    source = "\n".join(s for s in (cmd.help, cmd.epilog) if s)
    examples = _examples(source)
    assert any(ex.startswith("dreamcli ") for ex in examples), examples
    r = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert r.exit_code == 0, r.output
    shown = [ln.strip() for ln in r.stdout.splitlines()]
    assert "Examples:" in shown
    missing = [ex for ex in examples if ex not in shown]
    assert not missing, f"rewrapped or joined at 80 columns: {missing}\n{r.stdout}"
    too_wide = [ln for ln in r.stdout.splitlines() if len(ln) > 80]
    assert not too_wide, too_wide


GROUPS = [(path, cmd) for path, cmd in COMMANDS if getattr(cmd, "commands", None)]


@pytest.mark.parametrize(("path", "cmd"), GROUPS, ids=[" ".join(p) or "dreamcli" for p, _ in GROUPS])
def test_a_groups_command_list_shows_whole_summaries_at_80_columns(path: tuple[str, ...], cmd: Any) -> None:
    """`dreamcli --help` lists each command with a summary that fits, not a first sentence cut with `...`."""
    r = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    start = lines.index("Commands:")
    listed = [ln for ln in lines[start + 1:] if ln.startswith("  ") and ln.strip()][:len(cmd.commands)]
    assert listed and not [ln for ln in listed if ln.rstrip().endswith("...")], "\n".join(listed)


_GAP = re.compile(r"(?<=\S) {2,}(?=\S)")  # between an example's command and its description


def _one_space_descriptions(examples: list[str]) -> list[str]:
    """Example lines whose description follows the command after one space only (copied, the description
    becomes arguments): the block's description column (after two spaces or more on the other lines)
    reached by words after a single space."""
    starts = {gaps[-1].end() for ex in examples if (gaps := list(_GAP.finditer(ex)))}
    return [ex for ex in examples for c in starts
            if len(ex) > c and ex[c - 1] == " " and ex[c - 2] != " "
            and re.fullmatch(r"[a-z][\w'?.,()]*( [^\s-]\S*)*", ex[c:])]


def test_the_check_finds_a_description_after_one_space() -> None:
    assert _one_space_descriptions(["dreamcli init          a workspace here",
                                    "dreamcli run task.yaml run an agent"]) == ["dreamcli run task.yaml run an agent"]
    assert _one_space_descriptions(["dreamcli init  a workspace", "dreamcli run t.yaml --yes"]) == []


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) or "dreamcli" for p, _ in COMMANDS])
def test_every_example_has_two_spaces_before_its_description(path: tuple[str, ...], cmd: Any) -> None:
    """`dreamcli run sample_tasks/contract-review.yaml run an agent on a task` (one space) ran `run` on the
    files `run`, `an`, `agent`...: at least two spaces between an example and its description."""
    examples = _examples("\n".join(s for s in (cmd.help, cmd.epilog) if s))
    assert not _one_space_descriptions(examples)
