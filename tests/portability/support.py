"""Workspaces with playbooks, history and source sessions for the export/import tests (no tests here)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import EXIT_USAGE
from dreamcli.ids import ulid_at
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace

S1 = ulid_at(1_763_600_000_000, b"\x01" * 10)
S2 = ulid_at(1_763_600_100_000, b"\x02" * 10)
S_MISSING = ulid_at(1_763_600_200_000, b"\x03" * 10)

# Hand-edited on purpose: unusual spacing, a paragraph, a wrapped entry, a CRLF-free odd layout.
LEGAL_V3 = f"""---
name: legal
version: 3
updated: 2026-11-20T10:00:00Z
description: What the contract-review agent has learned about its tools and inputs.
scope:
  tasks: [contract-review]
  tags: [legal]
owner: compliance   # unknown keys are kept
---

# legal

Read this before touching a contract.

## Tool workarounds

- [pb-3f9k2xab] When `read` fails on a `.docx` file with "binary file", convert it first
  (`pandoc -t plain FILE`) and read the text; worked in 7 of 8 sessions.
  <!-- dc: helpful=7 harmful=0 sources={S1},{S2} first=2026-11-01 last=2026-11-20 -->

## Corrections

- [pb-8m2k4q1z] Cite clauses by section number ("§ 12.3"), never by page.
  <!-- dc: helpful=3 harmful=0 sources={S1},{S_MISSING} first=2026-11-02 last=2026-11-18 -->
"""

LEGAL_V2 = LEGAL_V3.replace("version: 3", "version: 2").split("## Corrections")[0].rstrip("\n") + "\n"

OPS_V1 = """---
name: ops
version: 1
updated: 2026-11-21T08:00:00Z
description: Build and deploy lessons.
scope: {}
---

# ops

## Builds

- [op-a1b2c3d4] Run `make lock` before `make test` when the lockfile is older than pyproject.toml.
  <!-- dc: helpful=2 harmful=0 first=2026-11-21 last=2026-11-21 -->
"""


def write_playbook(ws: Workspace, name: str, text: str, *, history: dict[int, str] | None = None) -> None:
    ws.playbooks_dir.mkdir(parents=True, exist_ok=True)
    (ws.playbooks_dir / f"{name}.md").write_text(text)
    for version, body in (history or {}).items():
        d = ws.playbook_history_dir / name
        d.mkdir(parents=True, exist_ok=True)
        (d / f"v{version}.md").write_text(body)


def write_session(ws: Workspace, session_id: str, text: str) -> None:
    w = SessionWriter(ws, session_id=session_id)
    w.start(task={"name": "contract-review", "prompt": text}, model="m", workdir="/w")
    w.message("user", [{"type": "text", "text": text}])
    w.end("completed", totals={"turns": 1})


def make_workspace(root: Path, *, sessions: bool = True) -> Workspace:
    ws = Workspace(root=root, source="option")
    ws.ensure()
    write_playbook(ws, "legal", LEGAL_V3, history={2: LEGAL_V2, 3: LEGAL_V3})
    write_playbook(ws, "ops", OPS_V1, history={1: OPS_V1})
    if sessions:
        write_session(ws, S1, "Review msa.docx; the internal code word is hunter2-internal")
        write_session(ws, S2, "Review nda.docx")
    return ws


def cli(home: Path, *args: str, input: bytes | None = None) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False, input=input)


def audit(ws: Workspace) -> list[dict[str, Any]]:
    if not ws.audit_path.exists():
        return []
    return [json.loads(line) for line in ws.audit_path.read_text().splitlines()]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


LOCAL_OPS = OPS_V1.replace("version: 1", "version: 2").replace("make lock", "make relock")


def exported(tmp_path: Path, *, history: bool = True, sessions: bool = True) -> Path:
    """A bundle directory exported from `make_workspace` (the import tests' `bundle_dir` fixtures)."""
    from dreamcli.portability import export_playbooks

    src = make_workspace(tmp_path / "src", sessions=sessions)
    out = tmp_path / "bundle"
    export_playbooks(src, output=str(out), include_history=history, include_sessions=sessions)
    return out


def destination(tmp_path: Path, *, local_ops: bool = False) -> Workspace:
    """The workspace a bundle is imported into: empty, or holding a local `ops` at version 2."""
    ws = Workspace(root=tmp_path / "dest", source="option")
    ws.ensure()
    ws.state_dir.mkdir()  # as any command leaves it: the layout that tells a workspace from another folder
    if local_ops:
        write_playbook(ws, "ops", LOCAL_OPS, history={2: LOCAL_OPS})
    return ws

def put(bundle: Path, rel: str, data: bytes) -> None:
    """Write a member and list it with its checksum: a hand-made bundle that passes verification."""
    (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
    (bundle / rel).write_bytes(data)
    m = json.loads((bundle / "manifest.json").read_text())
    m["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (bundle / "manifest.json").write_text(json.dumps(m))

def refused(dest: Workspace, bundle: Path, *words: str) -> str:
    """Import must fail with exit 2, one line naming the problem, and leave the workspace as it was."""
    before = tree(dest.root)
    r = cli(dest.root, "import", str(bundle))
    assert r.exit_code == EXIT_USAGE, r.output
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.output
    for w in words:
        assert w in r.stderr, r.stderr
    after = tree(dest.root)
    after.pop("state/locks/playbooks.lock", None)
    before.pop("state/locks/playbooks.lock", None)
    assert after == before
    assert not (dest.state_dir / "import-staging").exists()
    return r.stderr
