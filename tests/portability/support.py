"""Workspaces with playbooks, history and source sessions for the export/import tests (no tests here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from dreamcli.cli.app import app
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
