"""One flag vocabulary (docs/cli.md): walks the whole command tree through Typer's public API.

Fails when a short flag means two things, when a long flag is a switch in one command and takes a
value in another, when one concept has two visible long names, or when a help synopsis shows a
Python type instead of a word.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import typer.main
from typer.testing import CliRunner

from dreamcli.cli.app import app

# Names of one concept; at most one of each group may be visible (others only as hidden aliases).
SYNONYMS = [
    {"--parallel", "--concurrency", "--jobs", "--workers-parallel"},
    {"--workdir", "--cwd", "--dir", "--directory"},
    {"--output", "--out", "--into-file"},
    {"--yes", "--assume-yes", "--force-yes"},
    {"--quiet", "--silent"},
    {"--since", "--after"},
]


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    for name, sub in (getattr(cmd, "commands", None) or {}).items():
        yield from _commands(sub, (*path, name))


def _options(hidden: bool = False) -> Iterator[tuple[tuple[str, ...], Any]]:
    for path, cmd in _commands(typer.main.get_command(app)):
        for p in cmd.params:
            if p.param_type_name == "option" and (hidden or not p.hidden):
                yield path, p


def test_a_short_flag_means_one_thing() -> None:
    meaning: dict[str, set[str]] = defaultdict(set)
    for _, p in _options(hidden=True):
        longs = sorted(o for o in [*p.opts, *p.secondary_opts] if o.startswith("--"))
        for o in p.opts:
            if not o.startswith("--"):
                meaning[o].add(longs[0] if longs else o)
    clashes = {s: m for s, m in meaning.items() if len(m) > 1}
    assert not clashes, clashes
    assert meaning["-p"] == {"--prompt"}


def test_a_long_flag_is_a_switch_everywhere_or_nowhere() -> None:
    kind: dict[str, set[str]] = defaultdict(set)
    for path, p in _options(hidden=True):
        if not path:  # the root's own options (--home, --version) come before the command: their own namespace
            continue
        for o in p.opts:
            if o.startswith("--"):
                kind[o].add("switch" if p.is_flag else f"value {p.metavar}")
    mixed = {o: k for o, k in kind.items() if len(k) > 1}
    assert not mixed, mixed


def test_a_concept_has_one_visible_long_name() -> None:
    visible = {o for _, p in _options() for o in p.opts if o.startswith("--")}
    for group in SYNONYMS:
        assert len(group & visible) <= 1, group & visible
    hidden = {o for _, p in _options(hidden=True) if p.hidden for o in p.opts}
    assert "--concurrency" in hidden  # kept for old scripts, out of the help


def test_help_synopses_show_words_not_python_types() -> None:
    runner = CliRunner()
    for path, _ in _commands(typer.main.get_command(app)):
        out = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}).output
        bad = re.findall(r"<(?:list|int|str|float|path|Path|bool)[^>]*>|\[\[[A-Z_]+\]\]|\{[a-z_]+\}", out)
        assert not bad, (path, bad)
        wide = [line for line in out.splitlines() if len(line) > 80]
        assert not wide, (path, wide)  # help blocks fit an 80-column terminal


def test_shell_completion_is_typers_own(tmp_path: Any) -> None:
    import os
    import shutil
    import subprocess

    exe = shutil.which("dreamcli")
    if exe is None:
        import pytest

        pytest.skip("entry point not installed")
    env = {**os.environ, "SHELL": "/bin/bash", "HOME": str(tmp_path)}
    out = subprocess.run([exe, "--show-completion"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and "_dreamcli_completion" in out.stdout
    # and it completes: the commands at the first word
    env |= {"_DREAMCLI_COMPLETE": "complete_bash", "COMP_WORDS": "dreamcli pl", "COMP_CWORD": "1"}
    done = subprocess.run([exe], capture_output=True, text=True, env=env, timeout=60)
    assert "playbooks" in done.stdout


def test_grade_parallel_and_its_old_name(tmp_path: Any) -> None:
    from dreamcli.workspace.home import Workspace
    from tests.support.outcomes import make_session, write_spec

    ws = Workspace(root=tmp_path / "home", source="option").ensure_layout()
    spec = tmp_path / "spec.yaml"
    write_spec(spec, """
        name: s
        criteria:
          - id: answered
            check: {type: regex, in: answer, value: "Done"}
        """)
    make_session(ws)
    runner = CliRunner()
    for flag in ("--parallel", "--concurrency"):
        r = runner.invoke(app, ["--home", str(ws.root), "grade", "--last", "1", "--outcome", str(spec),
                                "--checks-only", flag, "2", "--json"])
        assert r.exit_code in (0, 1), r.output  # parsed and graded either way
