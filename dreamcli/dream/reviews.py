"""What the audit trail says a reviewer decided about proposed entries, for an entry whose dream folder is
gone (`dreams/<id>/` deleted to save room): a candidate is held back as rejected only when a rejection (or an
approval since undone) was recorded, and one whose dream was never decided is proposed again."""

from __future__ import annotations

from typing import Any

from dreamcli.workspace.home import Workspace

_DECIDING = ("approve", "reject")
_cache: dict[str, tuple[tuple[int, int, int], dict[tuple[str, str], str]]] = {}  # audit path -> (stat, reviews)


def audited_review(ws: Workspace, dream_id: str, entry_id: str) -> str | None:
    """`approve` or `reject` as the audit trail records the decision on entry `entry_id` of dream `dream_id`;
    None when no record decided it (the dream was pending, or never reviewed)."""
    return _reviews(ws).get((dream_id, entry_id))


def _reviews(ws: Workspace) -> dict[tuple[str, str], str]:
    """Every decided entry of the audit trail, read once per version of the file (a dream asks per candidate)."""
    path = ws.audit_path
    try:
        st = path.stat()
    except OSError:
        return {}
    key, stamp = str(path), (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _cache.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    from dreamcli.audit import iter_audit

    out: dict[tuple[str, str], str] = {}
    for rec in iter_audit(ws):
        action, dream_id = rec.get("action"), rec.get("dream_id")
        if action not in _DECIDING or not dream_id:
            continue
        results = _results(rec.get("entries"))
        for entry_id in rec.get("entry_ids") or []:  # the entries it decided (applied, already there, rejected)
            out[(dream_id, entry_id)] = "reject" if action == "reject" or results.get(entry_id) == "rejected" \
                else "approve"
    _cache.clear()  # one workspace at a time: a process dreams in one
    _cache[key] = (stamp, out)
    return out


def _results(entries: Any) -> dict[str, Any]:
    """entry id -> its `result` in a review record's `entries` (absent from older records)."""
    if not isinstance(entries, list):
        return {}
    return {e["entry_id"]: e.get("result") for e in entries
            if isinstance(e, dict) and isinstance(e.get("entry_id"), str)}
