"""Start-up stays near the typer+rich floor (issue 22, docs/benchmarks.md): a command imports typer, rich
and its own modules, never pydantic, anthropic, jsonschema, jinja2, httpx or PyYAML it does not use; only
the module of the command a run names is registered, and it reads the same as the whole tree; recovery
costs one directory listing when nothing is due.

Typer itself (0.2x) converts option values through pydantic, loaded lazily by `typer._adapters` when a
command's options are processed. That import is Typer's, not dreamcli's: a banned module counts only
when no Typer module is among its importers (read from `-X importtime`'s nesting)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dreamcli.cli.app import MODULES, build_app
from dreamcli.cli.tree import ROOT_HELP, ROOT_ONLY, route
from dreamcli.recovery import recover_workspace
from dreamcli.workspace import live
from dreamcli.workspace.home import Workspace

NEVER = ("pydantic", "pydantic_core", "anthropic", "jsonschema", "jinja2", "httpx", "yaml", "importlib.metadata",
         "dreamcli.testing")
# Beyond NEVER, by command, on a workspace without sessions. msgspec is the session reader's codec
# (dreamcli.codec): `sessions list` loads it once it has rows with tags or grades to decode, not before.
# The grapheme and wrapping helpers load when a line is wrapped or cut, never to list (with rows too:
# `test_a_listed_table_loads_no_grapheme_helper`).
UNWRAPPED = ("dreamcli.ui.graphemes", "dreamcli.ui.wrapping")
ALSO_NEVER = {
    "--help": ("msgspec", "rich", "dreamcli.sessions", "dreamcli.playbooks", "dreamcli.store", "dreamcli.outcomes",
               "dreamcli.recovery"),
    "sessions list": ("msgspec", "json", "dreamcli.playbooks", "dreamcli.dream", "dreamcli.redaction", "dreamcli.agent",
                      "dreamcli.sessions.importers", "dreamcli.cli.run", "dreamcli.cli.dream", "dreamcli.cli.cloud",
                      *UNWRAPPED),
    "playbooks list": ("msgspec", "json", "dreamcli.sessions", "dreamcli.dream", "dreamcli.redaction", "dreamcli.store",
                       "dreamcli.agent", "dreamcli.playbooks.proposal_model", "dreamcli.cli.run",
                       "dreamcli.cli.sessions", "rich", *UNWRAPPED),
}
NAMES = [n for names in MODULES.values() for n in names]


@pytest.fixture(scope="module")
def start_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    root = tmp_path_factory.mktemp("start-up")
    (root / "home").mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DREAMCLI_", "ANTHROPIC_", "_DREAMCLI_COMPLETE")) and k != "PYTHONPROFILEIMPORTTIME"}
    env.update(HOME=str(root / "home"), NO_COLOR="1")
    subprocess.run([sys.executable, "-m", "dreamcli", "--home", str(root / "ws"), "init"], env=env, cwd=root,
                   capture_output=True, check=True)
    return env, root


_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|( +)(\S+)$", re.M)


def by_importer(stderr: str) -> dict[str, set[str]]:
    """Module -> the modules above it in `-X importtime`'s tree (a module is printed after the modules
    it imported, indented less: the next line with a smaller indent is its importer)."""
    lines = [(len(m[1]), m[2]) for m in _LINE.finditer(stderr)]
    importers: dict[str, set[str]] = {}
    for n, (indent, name) in enumerate(lines):
        above, level = set(), indent
        for later_indent, later in lines[n + 1:]:
            if later_indent < level:
                above.add(later)
                level = later_indent
        importers.setdefault(name, set()).update(above)
    return importers


def imported(args: list[str], env: dict[str, str], cwd: Path) -> set[str]:
    """The modules a run imported itself: those loaded under Typer's own modules (its pydantic-based
    value conversion) left out."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "dreamcli", *args], env=env, cwd=cwd,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return own_imports(by_importer(out.stderr))


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def own_imports(importers: dict[str, set[str]]) -> set[str]:
    """Leave out what Typer loaded: modules under a Typer module, and, when Typer loaded pydantic,
    pydantic's own later lazy imports (its plugin loader, importlib.metadata under it)."""
    typers_pydantic = any(_in(a, "typer") for a in importers.get("pydantic", set()))

    def typers(name: str, above: set[str]) -> bool:
        if any(_in(a, "typer") for a in above):
            return True
        return typers_pydantic and (_in(name, "pydantic") or any(_in(a, "pydantic") for a in above))

    return {name for name, above in importers.items() if not typers(name, above)}


def test_imports_under_typer_are_told_apart() -> None:
    stderr = ("import time: 5 | 5 |     pydantic_core\n"
              "import time: 9 | 14 |   pydantic\n"
              "import time: 3 | 17 | typer._adapters\n"
              "import time: 2 | 2 |   yaml\n"
              "import time: 4 | 6 | dreamcli.x\n")
    importers = by_importer(stderr)
    assert importers["pydantic_core"] == {"pydantic", "typer._adapters"}
    assert importers["yaml"] == {"dreamcli.x"}
    assert importers["dreamcli.x"] == set()
    late = stderr + ("import time: 1 | 1 |   importlib.metadata\n"
                     "import time: 1 | 2 | pydantic.plugin._loader\n")
    assert own_imports(by_importer(late)) == {"typer._adapters", "yaml", "dreamcli.x"}
    ours = "import time: 9 | 9 |   pydantic\nimport time: 1 | 10 | dreamcli.y\n"
    assert own_imports(by_importer(ours)) == {"pydantic", "dreamcli.y"}


def _loaded(modules: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == b or m.startswith(b + ".") for b in banned))


def test_cli_start_up_stays_light() -> None:
    """Importing the CLI loads no heavy library (not even Rich) and never dreamcli.testing."""
    code = ("import sys, dreamcli.cli.app; "
            "print(' '.join(m for m in ('anthropic', 'pydantic', 'rich', 'yaml', 'jsonschema', 'httpx', "
            "'importlib.metadata', 'dreamcli.testing') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("command", ["--help", "sessions list", "playbooks list"])
def test_a_command_imports_typer_rich_and_its_own_modules_only(start_env: tuple[dict[str, str], Path],
                                                             command: str) -> None:
    env, root = start_env
    args = command.split() if command == "--help" else ["--home", str(root / "ws"), *command.split()]
    modules = imported(args, env, root)
    assert "typer" in modules and "dreamcli.cli.app" in modules  # the measurement saw the run
    assert _loaded(modules, NEVER + ALSO_NEVER[command]) == []
    assert "dreamcli.dream.journal" not in modules  # recovery with nothing due imports no journal


def test_a_listed_table_loads_no_grapheme_helper(start_env: tuple[dict[str, str], Path], ws: Workspace) -> None:
    """`sessions list` with a session prints its table (dreamcli.ui.tables), which needs the grapheme helpers
    only to fold a word wider than the terminal (issue: tables imported dreamcli.ui.graphemes at the top, for
    `cells`, and every listing paid for it)."""
    from dreamcli.sessions.writer import SessionWriter

    env, root = start_env
    w = SessionWriter(ws)
    w.start(task={"name": "contract-review", "prompt": "Review msa.docx"}, model="m", workdir="/w")
    w.end("completed", totals={"turns": 1})
    modules = imported(["--home", str(ws.root), "sessions", "list"], env, root)
    assert "dreamcli.ui.tables" in modules  # the table was printed
    assert _loaded(modules, UNWRAPPED) == []


def test_the_sweep_after_a_killed_command_stays_light(start_env: tuple[dict[str, str], Path]) -> None:
    """The first command after a SIGKILL sweeps temp files of dead processes: that must not load the
    proposal model (pydantic) or every importer just to delete folders (it loaded both, ~0.12 s)."""
    env, root = start_env
    ws = Workspace(root=root / "ws", source="option")
    marker = live.live_dir(ws) / str(_dead_pid())
    marker.touch()  # what a SIGKILLed command leaves
    modules = imported(["--home", str(ws.root), "sessions", "list"], env, root)
    assert not marker.exists()  # the sweep ran
    assert "dreamcli.dream.journal" in modules and "dreamcli.sessions.importers.journal" in modules
    assert _loaded(modules, (*NEVER, "dreamcli.sessions.importers.runner", "dreamcli.playbooks.proposal_model")) == []


def test_version_builds_no_command(start_env: tuple[dict[str, str], Path]) -> None:
    env, root = start_env
    modules = imported(["--version"], env, root)
    assert _loaded(modules, (*NEVER, "dreamcli.cli.sessions", "dreamcli.cli.run", "rich")) == []


# --- only what the run needs, reading the same ---------------------------------------------------

def test_each_module_registers_the_commands_named_for_it() -> None:
    import importlib

    for module, names in MODULES.items():
        app = typer.Typer()
        app.callback()(lambda: None)  # a group, however many commands the module registers
        importlib.import_module(f"dreamcli.cli.{module}").register(app)
        group = typer.main.get_command(app)
        assert set(getattr(group, "commands", {})) == set(names), module


@pytest.mark.parametrize(("args", "expected"), [
    ([], (ROOT_HELP, None)),
    (["--help"], (ROOT_HELP, None)),
    (["--home", "x", "-h"], (ROOT_HELP, None)),
    (["-V"], (ROOT_ONLY, None)),
    (["--home", "x", "--debug", "sessions", "list", "--json"], ("sessions", "list")),
    (["--home=x", "playbooks", "approve", "01AB"], ("playbooks", "approve")),
    (["playbooks", "--help"], ("playbooks", None)),
    (["run", "task.yaml"], ("run", "task.yaml")),
    (["sesions", "list"], (None, None)),
    (["--install-completion"], (None, None)),
    (["--home"], (None, None)),
])
def test_route(args: list[str], expected: tuple[str | None, str | None]) -> None:
    assert route(args, NAMES) == expected


def test_completion_gets_the_whole_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_DREAMCLI_COMPLETE", "complete_bash")
    assert route(["sessions", "list"], NAMES) == (None, None)


@pytest.mark.parametrize("args", [
    [], ["--help"], ["-V"], ["playbooks", "list", "--help"], ["playbooks", "--help"], ["playbooks", "lst"],
    ["sessions", "--help"], ["sessions", "import", "--help"], ["sessions", "import", "claude-code", "--help"],
    ["run", "--help"], ["dream", "--help"], ["export", "--help"], ["import", "--help"], ["config", "--help"],
    ["config", "show", "--help"], ["schedule", "show", "--help"], ["playbooks", "approve", "--help"],
    ["cloud", "--help"], ["cloud", "dream", "--help"], ["cloud", "sessions", "pull", "--help"],
    ["sessions", "reindex", "--bogus"], ["playbooks", "approve"], ["sessions", "list", "extra"],
    ["sessions", "list", "--limit", "0"], ["sessions", "list", "--limit", "x"],
    ["WS", "playbooks", "list", "--json"], ["WS", "sessions", "list", "--json", "--limit", "3"],
    ["WS", "sessions", "list"], ["WS", "playbooks", "list"],
])
def test_the_tree_built_for_a_run_reads_as_the_whole_tree(ws: Workspace, args: list[str]) -> None:
    if args[:1] == ["WS"]:
        args = ["--home", str(ws.root), *args[1:]]
    runner = CliRunner()
    whole = runner.invoke(build_app(), args)
    part = runner.invoke(build_app(*route(args, NAMES)), args)
    assert (part.exit_code, part.stdout, part.stderr) == (whole.exit_code, whole.stdout, whole.stderr)


# --- recovery: one listing when nothing is due -----------------------------------------------------

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_sweep_is_due_until_one_is_done_then_not(ws: Workspace) -> None:
    assert live.sweep_due(ws) == (True, [])  # never tracked here
    recover_workspace(ws)
    assert live.sweep_due(ws) == (False, [])


def test_a_killed_command_makes_the_next_one_sweep(ws: Workspace) -> None:
    recover_workspace(ws)
    dead = _dead_pid()
    temp = ws.playbooks_dir / f".legal.md.{dead}.abc123.tmp"
    temp.write_text("half")
    marker = live.live_dir(ws) / str(dead)
    marker.touch()  # what a SIGKILLed command leaves
    assert live.sweep_due(ws) == (True, [marker])
    recover_workspace(ws)
    assert not temp.exists() and not marker.exists()
    assert live.sweep_due(ws) == (False, [])


def test_an_hour_after_the_last_sweep_one_is_due_again(ws: Workspace) -> None:
    recover_workspace(ws)
    old = time.time() - live.SWEEP_EVERY_S - 60
    os.utime(live.live_dir(ws) / live.STAMP, (old, old))
    assert live.sweep_due(ws)[0]
    recover_workspace(ws)
    assert live.sweep_due(ws) == (False, [])


def test_a_running_command_is_marked_and_unmarked(ws: Workspace) -> None:
    recover_workspace(ws)
    marker = live.live_dir(ws) / str(os.getpid())
    release = live.register(ws)
    again = live.register(ws)  # the same process opening the workspace twice
    assert marker.exists() and live.sweep_due(ws) == (False, [])
    again()
    again()  # releasing twice counts once
    assert marker.exists()
    release()
    assert not marker.exists()
    marker.touch()  # our pid, not ours: a dead process had it
    assert live.sweep_due(ws) == (True, [marker])


def test_a_command_leaves_no_marker_and_no_file(ws: Workspace) -> None:
    from dreamcli.cli.app import app

    files = sorted(p for p in ws.root.rglob("*") if p.is_file())
    r = CliRunner().invoke(app, ["--home", str(ws.root), "sessions", "list", "--json"])
    assert r.exit_code == 0, r.output
    assert sorted(p for p in ws.root.rglob("*") if p.is_file()) == files
    assert [p.name for p in live.live_dir(ws).iterdir()] == [live.STAMP]
