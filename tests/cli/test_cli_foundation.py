"""The installed command: help, version, exit codes, workspace errors, init, sessions list/show."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli import __version__
from dreamcli.cli.app import app
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace

GROUPS = ("init", "run", "sessions", "grade", "dream", "playbooks", "export", "import")
runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def make_session(ws: Workspace, task: str = "contract-review", status: str = "completed") -> SessionWriter:
    w = SessionWriter(ws)
    w.start(task={"name": task, "prompt": "Summarise the termination clauses."}, model="claude-sonnet-5-5",
            workdir="/work/x")
    w.message("user", [{"type": "text", "text": "Summarise the termination clauses."}])
    w.message("assistant", [{"type": "text", "text": "Reading."},
                            {"type": "tool_use", "id": "toolu_9", "name": "read", "input": {"file_path": "a.docx"}}],
              model="claude-sonnet-5-5", stop_reason="tool_use", usage={"input_tokens": 100, "output_tokens": 20})
    w.message("user", [{"type": "tool_result", "tool_use_id": "toolu_9", "is_error": True,
                        "content": "a.docx is a binary file"}])
    w.message("assistant", [{"type": "text", "text": "All done: 3 clauses."}], model="claude-sonnet-5-5",
              stop_reason="end_turn", usage={"input_tokens": 150, "output_tokens": 30})
    w.end(status, totals={"turns": 2, "input_tokens": 250, "output_tokens": 50, "cost_usd": 0.00125,
                          "tool_calls": 1, "tool_errors": 1})
    return w


def test_help_lists_every_group_with_examples() -> None:
    r = invoke("--help")
    assert r.exit_code == 0
    for g in GROUPS:
        assert f"\n  {g} " in r.output, g
        assert f"dreamcli {g}" in r.output  # an example for each group
    for g in GROUPS:
        sub = invoke(g, "--help")
        assert sub.exit_code == 0 and "dreamcli" in sub.output, g


def test_version_and_python_m() -> None:
    assert invoke("--version").output.strip() == f"dreamcli {__version__}"
    out = subprocess.run([sys.executable, "-m", "dreamcli", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"dreamcli {__version__}"


@pytest.mark.skipif(shutil.which("dreamcli") is None, reason="entry point not installed")
def test_installed_entry_point(tmp_path: Path) -> None:
    out = subprocess.run(["dreamcli", "--home", str(tmp_path / "h"), "sessions", "list", "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "no workspace" in out.stderr and "Traceback" not in out.stderr


def test_importing_the_cli_does_not_import_anthropic() -> None:
    code = ("import sys, dreamcli.cli.app; "
            "bad = [m for m in sys.modules if m == 'anthropic' or m.startswith('anthropic.')]; "
            "print(len(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


# test_cli_start_up_stays_light: tests/cli/test_start_up_imports.py (imports per command, not only the CLI's).


def test_init_creates_a_private_workspace(tmp_path: Path) -> None:
    r = invoke("init", str(tmp_path / "proj"), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    root = Path(data["workspace"])
    assert root == tmp_path / "proj" / ".dreamcli" and data["created"] is True
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert (root / "config.yaml").exists() and stat.S_IMODE((root / "config.yaml").stat().st_mode) == 0o600
    assert (root / "sessions").is_dir() and (root / "playbooks").is_dir()
    again = invoke("init", str(tmp_path / "proj"), "--json")
    assert json.loads(again.stdout)["created"] is False


def test_nearest_local_workspace_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    invoke("init", str(tmp_path / "proj"))
    ws = Workspace(tmp_path / "proj" / ".dreamcli", "local")
    make_session(ws)
    deep = tmp_path / "proj" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    monkeypatch.delenv("DREAMCLI_HOME", raising=False)
    r = invoke("sessions", "list", "--json")
    assert r.exit_code == 0 and len(json.loads(r.stdout)["sessions"]) == 1


def test_sessions_list_json_and_filters(bare_ws: Workspace) -> None:
    a = make_session(bare_ws, task="contract-review")
    b = make_session(bare_ws, task="build-log-triage", status="error")
    r = invoke("--home", str(bare_ws.root), "sessions", "list", "--json")
    rows = json.loads(r.stdout)["sessions"]
    assert [x["session_id"] for x in rows] == [b.session_id, a.session_id]
    assert rows[1]["tokens"] == 300 and rows[1]["turns"] == 2 and rows[1]["cost_usd"] == 0.00125
    r = invoke("--home", str(bare_ws.root), "sessions", "list", "--status", "error", "--json")
    assert [x["task"] for x in json.loads(r.stdout)["sessions"]] == ["build-log-triage"]
    r = invoke("--home", str(bare_ws.root), "sessions", "list", "--task", "contract-review", "--since", "1d")
    assert r.exit_code == 0 and a.session_id in r.stdout and b.session_id not in r.stdout
    r = invoke("--home", str(bare_ws.root), "sessions", "list", "--since", "yesterday-ish")
    assert r.exit_code == 2 and "--since" in r.stderr


def test_sessions_list_shows_latest_grade(bare_ws: Workspace) -> None:
    from dreamcli.outcomes.store import append_grade

    a = make_session(bare_ws)
    append_grade(bare_ws, {"session_id": a.session_id, "outcome": "contract-review", "result": "needs_revision",
                      "score": 0.5})
    rows = json.loads(invoke("--home", str(bare_ws.root), "sessions", "list", "--json").stdout)["sessions"]
    assert rows[0]["outcome"] == "needs_revision" and rows[0]["score"] == 0.5


def test_sessions_show_transcript_and_json(bare_ws: Workspace) -> None:
    a = make_session(bare_ws)
    r = invoke("--home", str(bare_ws.root), "sessions", "show", a.session_id[:24])
    assert r.exit_code == 0
    assert "Summarise the termination clauses." in r.stdout
    assert "a.docx is a binary file" in r.stdout and "error" in r.stdout
    assert "All done: 3 clauses." in r.stdout and "completed" in r.stdout
    data = json.loads(invoke("--home", str(bare_ws.root), "sessions", "show", a.session_id, "--json").stdout)
    assert data["session_id"] == a.session_id and len(data["events"]) == 6


def test_sessions_show_tolerates_garbage_and_truncation(bare_ws: Workspace) -> None:
    a = make_session(bare_ws)
    with open(a.path, "ab") as f:
        f.write(b"garbage\n{\"v\":1,\"type\":\"mess")
    r = invoke("--home", str(bare_ws.root), "sessions", "show", a.session_id)
    assert r.exit_code == 0 and "All done" in r.stdout
    assert "skipped 2 unreadable line(s)" in r.stderr


@pytest.mark.parametrize("args,needle", [
    (("sessions", "show", "ZZZZ"), "no session matches"),
    (("sessions", "show", "0"), "ambiguous"),
])
def test_bad_ids_exit_2_with_one_line(bare_ws: Workspace, args: tuple[str, ...], needle: str) -> None:
    make_session(bare_ws)
    make_session(bare_ws)
    r = invoke("--home", str(bare_ws.root), *args)
    assert r.exit_code == 2 and needle in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.output


def test_home_that_is_a_file_or_bad_config(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    r = invoke("--home", str(f), "sessions", "list")
    assert r.exit_code == 2 and "is a file" in r.stderr
    ws = Workspace(tmp_path / "ws", "option").ensure()
    ws.config_path.write_text("limits:\n  max_turnz: 3\n")
    r = invoke("--home", str(ws.root), "init", "--json")  # init does not need config
    assert r.exit_code == 0
    r = runner.invoke(app, ["--home", str(ws.root), "dream", "--offline"])
    assert r.exit_code == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any directory")
def test_unreadable_home(tmp_path: Path) -> None:
    home = tmp_path / "locked"
    home.mkdir(mode=0o000)
    try:
        r = invoke("--home", str(home), "sessions", "list")
        assert r.exit_code == 2 and "not readable" in r.stderr
    finally:
        home.chmod(0o700)


def test_debug_shows_traceback_only_when_asked(bare_ws: Workspace) -> None:
    r = runner.invoke(app, ["--home", str(bare_ws.root), "sessions", "show", "ZZZ"])
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["--home", str(bare_ws.root), "--debug", "sessions", "show", "ZZZ"])
    assert "Traceback" in r.stderr and r.exit_code == 2


def test_init_without_dir_uses_dreamcli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["init", "--json"], env={"DREAMCLI_HOME": str(tmp_path / "envhome")})
    assert r.exit_code == 0 and json.loads(r.stdout)["workspace"] == str(tmp_path / "envhome")
    assert not (tmp_path / ".dreamcli").exists()


def test_dream_hints_carry_the_home_they_were_given(tmp_path: Path) -> None:
    home = tmp_path / "demo" / ".dreamcli"
    assert invoke("init", str(tmp_path / "demo"), "--with-samples").exit_code == 0
    r = invoke("--home", str(home), "dream", "--offline")
    assert r.exit_code == 0
    assert f"Review: dreamcli --home {home} playbooks diff " in r.stderr
    assert f"Approve: dreamcli --home {home} playbooks approve " in r.stderr


def test_unknown_status_is_bad_usage(bare_ws: Workspace) -> None:
    r = invoke("--home", str(bare_ws.root), "sessions", "list", "--status", "bogus")
    assert r.exit_code == 2 and "max_turns" in r.stderr
