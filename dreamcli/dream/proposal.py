"""Writing a dream's directory (docs/proposal-format.md): `dreams/<id>/` with proposal.json, report.md
and dream.json, built in a hidden temp directory and renamed into place, so a dream killed at any
point leaves no partial proposal. Also reading proposals back (for dedupe and tests)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from dreamcli.playbooks.proposal_model import Proposal
from dreamcli.workspace.fsutil import atomic_write_text, ensure_dir
from dreamcli.workspace.home import Workspace

TMP_PREFIX = ".tmp-"
STALE_TMP_S = 3600


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_dream(ws: Workspace, dream_id: str, *, proposal: Proposal, dream: dict[str, Any], report: str) -> Path:
    """Write `dreams/<dream_id>/` atomically and return its path."""
    ensure_dir(ws.dreams_dir)
    final = ws.dreams_dir / dream_id
    if final.exists():
        raise FileExistsError(f"dream {dream_id} already exists")
    tmp = ws.dreams_dir / f"{TMP_PREFIX}{dream_id}-{os.getpid()}"
    ensure_dir(tmp)
    try:
        atomic_write_text(tmp / "proposal.json", proposal.to_json_text())
        atomic_write_text(tmp / "report.md", report)
        atomic_write_text(tmp / "dream.json", _dump(dream))
        _fsync_dir(tmp)
        os.rename(tmp, final)
        _fsync_dir(ws.dreams_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def clean_stale_tmp(ws: Workspace) -> int:
    """Remove temp directories left by dreams killed mid-write (older than an hour)."""
    if not ws.dreams_dir.is_dir():
        return 0
    removed = 0
    now = time.time()
    for entry in os.scandir(ws.dreams_dir):
        if entry.name.startswith(TMP_PREFIX) and entry.is_dir():
            try:
                if now - entry.stat().st_mtime > STALE_TMP_S:
                    shutil.rmtree(entry.path, ignore_errors=True)
                    removed += 1
            except OSError:
                continue
    return removed


def read_proposal(ws: Workspace, dream_id: str) -> dict[str, Any]:
    return json.loads((ws.dreams_dir / dream_id / "proposal.json").read_text(encoding="utf-8"))


