"""Temp files and folders: those of dead processes are swept by the next command, a live writer's
never are; an intent left by a killed approve is finished by any next command."""

from __future__ import annotations

import os
import subprocess
import sys

from dreamcli.recovery import recover_workspace
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.sweep import sweep_temp


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_dead_writers_temp_files_are_swept(ws: Workspace) -> None:
    dead, live = _dead_pid(), os.getpid()
    d = ws.playbooks_dir
    (d / f".legal.md.{dead}.abc123.tmp").write_text("x")
    (d / f".legal.md.{live}.abc123.tmp").write_text("x")
    (ws.dreams_dir / f".tmp-01ABC-{dead}").mkdir()
    (ws.dreams_dir / f".tmp-01ABD-{live}").mkdir()
    sweep_temp(d)
    sweep_temp(ws.dreams_dir)
    assert [p.name for p in d.iterdir()] == [f".legal.md.{live}.abc123.tmp"]
    assert [p.name for p in ws.dreams_dir.iterdir()] == [f".tmp-01ABD-{live}"]


def test_any_next_command_sweeps_a_dead_imports_staging(ws: Workspace) -> None:
    staging = ws.state_dir / "import-staging" / f"01ABC-{_dead_pid()}"
    staging.mkdir(parents=True)
    (staging / "x.jsonl").write_text("{}\n")
    (ws.state_dir / "intents").mkdir(exist_ok=True)
    recover_workspace(ws)
    assert not (ws.state_dir / "import-staging").exists()


def test_an_audit_head_left_behind_by_a_kill_is_moved_forward(ws: Workspace) -> None:
    import json

    from dreamcli.audit import append_audit
    from dreamcli.audit_chain import head_path
    from dreamcli.playbooks.audit_verify import verify_audit

    append_audit(ws, "export", actor="a")
    old = head_path(ws).read_text()
    append_audit(ws, "export", actor="b")
    head_path(ws).write_text(old)  # killed after the append, before the head was updated
    assert not verify_audit(ws).ok
    recover_workspace(ws)
    assert verify_audit(ws).ok and json.loads(head_path(ws).read_text())["lines"] == 2
