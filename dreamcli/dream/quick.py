"""The cron fast path: is there anything new to dream about for a playbook? The standard library, the
workspace layout and the watermark's schema (msgspec) only, so a scheduled `dreamcli dream` with nothing
new finishes without loading the dreamer. Mirrors `selection.new_session_files` and the engine's grades check."""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

from dreamcli.dream.statefile import NotRegularFile, read_regular
from dreamcli.sessions.arrivals import nothing_arrived
from dreamcli.sessions.paths import session_path
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import append_line
from dreamcli.workspace.home import Workspace

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # as dreamcli.playbooks.store.check_name


def _dirs(path: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return []


def _any_after(ws: Workspace, last: str) -> bool:
    wm = session_path(ws, last)
    wm_day = (wm.parent.parent.parent.name, wm.parent.parent.name, wm.parent.name)
    root = ws.sessions_dir
    for y in reversed(_dirs(root)):
        if y < wm_day[0]:
            return False
        for m in reversed(_dirs(root / y)):
            if (y, m) < wm_day[:2]:
                break
            for d in reversed(_dirs(root / y / m)):
                if (y, m, d) < wm_day:
                    break
                try:
                    with os.scandir(root / y / m / d) as it:
                        if any(e.name.endswith(".jsonl") and e.name[:-6].upper() > last for e in it):
                            return True
                except OSError:
                    continue
    return False


def nothing_new(ws: Workspace, playbook: str) -> bool:
    """True only when certainly nothing is new: a watermark exists, no session after it, no deferred
    session, and grades/grades.jsonl has not grown. Any doubt answers False (the full dream decides)."""
    if not _NAME.match(playbook) or playbook.endswith(".md"):
        return False
    try:
        mark = json.loads(read_regular(ws.state_dir / "dream" / playbook / "watermark.json"))
    except (OSError, ValueError, RecursionError, NotRegularFile):  # a FIFO hung here: the dream sets it aside
        return False
    if not isinstance(mark, dict) or mark.get("v") != 1 or not mark.get("last_session_id"):
        return False
    from dreamcli.dream.state_schema import watermark_problem

    if watermark_problem(mark) is not None:  # the dream sets it aside: not the fast path's to judge
        return False
    if mark.get("deferred"):
        return False
    try:
        grades = (ws.grades_dir / "grades.jsonl").stat().st_size
    except OSError:
        grades = 0
    if grades != int(mark.get("grades_offset") or 0):
        return False
    if not nothing_arrived(ws, int(mark.get("arrivals_offset") or 0), mark.get("arrivals_digest")):
        return False  # imports with older ids, or a file truncated or replaced since
    try:
        return not _any_after(ws, str(mark["last_session_id"]).upper())
    except ValueError:
        return False


def log_nothing_new(ws: Workspace, playbook: str) -> None:
    with contextlib.suppress(OSError):
        append_line(ws.logs_dir / "dream.log", f"{now_rfc3339()} dream playbook={playbook} status=nothing_new")
