"""Test helpers for the playbooks tests: write playbooks and dream proposals exactly as
docs/playbook-format.md and docs/proposal-format.md describe them, and run the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.playbooks import Entry, new_playbook, render_playbook
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace

SID = "01JD0Q8Z3V6M4T2N8K5R7W9XAB"


needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")


def sign_as_ana(ws: Workspace, tmp_path: Path) -> None:
    """Make `ws` sign its audit records with a new key of ana's and check them with her allowed signers."""
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ana", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text("ana@example.com " + " ".join(key.with_suffix(".pub").read_text().split()[:2]) + "\n")
    ws.config_path.write_text(f"audit:\n  signing_key: {key}\n  allowed_signers: {allowed}\n")


def workspace(tmp_path: Path) -> Workspace:
    return Workspace(root=tmp_path / "home", source="option").ensure_layout()


def write_playbook(ws: Workspace, name: str, entries: list[tuple[str, str, str]], *, version: int = 1,
                   history: bool = True, scope: dict[str, Any] | None = None) -> str:
    """entries: (id, section, text). Writes the live file (and its history version); returns the text."""
    pb = new_playbook(name, description=f"{name} playbook", scope=scope)
    pb.version = version
    pb.updated = "2026-11-20T10:00:00Z"
    for entry_id, section, text in entries:
        pb.add_entry(Entry(id=entry_id, text=text, helpful=1, sources=[SID], first_seen="2026-11-01",
                           last_seen="2026-11-20"), section)
    text = render_playbook(pb)
    atomic_write_text(ws.playbooks_dir / f"{name}.md", text)
    if history:
        atomic_write_text(ws.playbook_history_dir / name / f"v{version}.md", text)
    return text


def op(entry_id: str, kind: str = "add", text: str | None = "A new lesson.", **kw: Any) -> dict[str, Any]:
    """One proposal operation with the fields the dream writes."""
    base: dict[str, Any] = {
        "entry_id": entry_id, "target": "playbook", "op": kind, "section": "Lessons", "text": text,
        "old_text": None, "merged_ids": [], "reason": "recurring pattern", "kind": "error_recovery",
        "support": {"sessions": 3, "successes": 3, "total_sessions": 10}, "impact": 0.5,
        "metadata": {"helpful": 0, "harmful": 0, "sources": [SID], "first_seen": "2026-11-01",
                     "last_seen": "2026-11-20"},
        "evidence": [{"session_id": SID, "seq": 14, "excerpt": f"evidence for {entry_id}"}],
        "lint": [],
    }
    base.update(kw)
    return base


def write_dream(ws: Workspace, dream_id: str, playbook: str, operations: list[dict[str, Any]], *,
                base_version: int = 1, status: str = "pending", memory_store: str = "default") -> Path:
    d = ws.dreams_dir / dream_id
    proposal = {"v": 1, "dream_id": dream_id, "created": "2026-11-24T03:00:00.000Z", "playbook": playbook,
                "base_version": base_version, "memory_store": memory_store, "operations": operations,
                "lint": [], "budget": {"token_budget": 2000, "tokens_after": 1450}}
    dream = {"dream_id": dream_id, "status": status, "created": "2026-11-24T03:00:00.000Z",
             "playbook": playbook, "memory_store": memory_store, "inputs": {"sessions": 10},
             "usage": {"input_tokens": 0, "output_tokens": 0}, "stats": {}, "offline": True,
             "instructions": None}
    atomic_write_text(d / "proposal.json", json.dumps(proposal, indent=2))
    atomic_write_text(d / "dream.json", json.dumps(dream, indent=2))
    atomic_write_text(d / "report.md", f"# Dream {dream_id}\n")
    return d


def dream_status(ws: Workspace, dream_id: str) -> str:
    return json.loads((ws.dreams_dir / dream_id / "dream.json").read_text())["status"]


def decisions(ws: Workspace, dream_id: str) -> list[dict[str, Any]]:
    path = ws.dreams_dir / dream_id / "decisions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def audit(ws: Workspace) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ws.audit_path.read_text().splitlines()] if ws.audit_path.exists() else []


def cli(ws: Workspace, *args: str, input: str | None = None) -> Any:
    """Run `dreamcli --home WS ...` in-process (no terminal: stdin is not a TTY)."""
    from dreamcli.cli.app import app

    runner = CliRunner()
    return runner.invoke(app, ["--home", str(ws.root), *args], input=input, env={"DREAMCLI_ACTOR": "tester"})
