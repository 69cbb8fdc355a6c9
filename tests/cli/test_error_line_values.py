"""The `error:` line quotes a long value from the command line shortened (its first and last 100 characters,
`…` and its length; a usage error's `Error:` line too), never a 100 KB argument whole (F4); and
`dream --instructions` over its limit is refused whether or not there is anything new to dream about (F6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.cli.root import shortened

pytestmark = pytest.mark.usefixtures("no_model")

HUGE = "a" * 100_000


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    assert run("init", str(tmp_path / "p")).exit_code == 0
    return tmp_path / "p" / ".dreamcli"


@pytest.mark.parametrize("args", [
    ("grade", "--checks-only", "--outcome", HUGE),
    ("grade", "--checks-only", f"--outcome={HUGE}"),
    ("run", HUGE),
    ("sessions", "show", HUGE),
    ("playbooks", "show", HUGE),
    ("playbooks", "diff", HUGE),
    ("sessions", "list", "--since", HUGE),
    ("grade", "--checks-only", "--outcome", " ".join(["word"] * 20_000)),  # spaces: no one long run
])
def test_a_huge_value_is_shortened_in_the_error_line(home: Path, args: tuple[str, ...]) -> None:
    r = run("--home", str(home), *args)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr[:300]
    assert len(r.stderr) < 600, r.stderr[:300]
    assert "characters)" in r.stderr and "…" in r.stderr


def test_shortened_keeps_the_start_and_the_end_says_the_length_and_leaves_short_values_alone() -> None:
    value = "x" * 150 + "y" * 100
    assert shortened(f"no dream '{value}' here", ["diff", value]) == \
        f"no dream '{'x' * 100}…{'y' * 100} (250 characters)' here"
    assert shortened("no dream 'abc' here", ["abc"]) == "no dream 'abc' here"
    # quoted with repr's escapes, or as a value the command changed first (a path made absolute)
    tabbed = "y\t" * 150
    form = repr(tabbed)[1:-1]
    # cut between whole escapes: the end starts after the `\t` the 100th character from it would split
    assert form[-100:].startswith("ty")
    assert shortened(f"bad {tabbed!r}", [tabbed]) == f"bad '{form[:100]}…{form[-99:]} (450 characters)'"
    assert shortened("/w/" + "z" * 1500 + "/f: not found", []) == \
        "/w/" + "z" * 97 + "…" + "z" * 97 + "/f: (1506 characters) not found"


def test_a_long_path_keeps_its_file_name(tmp_path: Path) -> None:
    path = "/".join([str(tmp_path), *(f"dir{i:02d}_abcdefghij" for i in range(14)), "my-important-bundle.json"])
    assert len(path) > 250
    line = shortened(f"{path}: bundle not found", [path])
    assert line.startswith(path[:100] + "…") and line.endswith(f"my-important-bundle.json ({len(path)} characters)"
                                                               ": bundle not found"), line


@pytest.mark.parametrize("args", [
    (HUGE,),  # No such command
    ("playbooks", HUGE),
    ("--" + HUGE,),  # No such option (the root's)
    ("playbooks", "list", "--" + HUGE),
    ("sessions", "list", "--limit", HUGE),
    ("export", "--format", HUGE),
])
def test_a_huge_value_is_shortened_in_a_usage_error(home: Path, args: tuple[str, ...]) -> None:
    r = run("--home", str(home), *args)
    assert r.exit_code == 2, r.output[:300]
    assert "rror: " in r.stderr and len(r.stderr) < 1000, r.stderr[:300]
    assert "a" * 101 not in r.stderr, r.stderr[:300]


def test_a_short_usage_error_is_unchanged(home: Path) -> None:
    r = run("--home", str(home), "playbok")
    assert r.exit_code == 2 and "No such command 'playbok'" in r.stderr, r.stderr


@pytest.mark.parametrize("given", ["inline", "file"])
def test_instructions_over_the_limit_are_refused_when_nothing_is_new(tmp_path: Path, given: str) -> None:
    assert run("init", str(tmp_path / "s"), "--with-samples").exit_code == 0
    home = tmp_path / "s" / ".dreamcli"
    assert run("--home", str(home), "dream", "--offline").exit_code == 0  # dreamed: nothing new from now on
    assert "Nothing new" in run("--home", str(home), "dream", "--offline").stderr
    text = "b" * 5000
    (tmp_path / "steer.txt").write_text(text)
    value = text if given == "inline" else f"@{tmp_path / 'steer.txt'}"
    r = run("--home", str(home), "dream", "--offline", "--instructions", value)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: --instructions: ") and "5000 characters; at most 4096" in r.stderr, r.stderr
    ok = run("--home", str(home), "dream", "--offline", "--instructions", "b" * 4096)
    assert ok.exit_code == 0 and "Nothing new to dream about" in ok.stderr, ok.output
