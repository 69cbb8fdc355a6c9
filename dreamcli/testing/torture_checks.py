"""The invariants a workspace must hold after any kill -9 and the recovery that follows it (issue 21,
docs/reliability.md): used by `bench/torture.py` and tests/reliability/test_torture.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dreamcli.audit import content_hash, iter_audit
from dreamcli.playbooks.duplicates import duplicate_entries
from dreamcli.playbooks.format import parse_playbook
from dreamcli.playbooks.store import history_versions, list_playbook_names, read_live
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import read_events
from dreamcli.workspace.home import Workspace


def stray_files(ws: Workspace) -> list[str]:
    """Temp files and folders, staged state, intents and staging left in the workspace."""
    out = []
    for path in ws.root.rglob("*"):
        name = path.name
        if name.endswith(".tmp") or name.startswith(".tmp-") or name.startswith("staged-") \
                or name == "intent.json":
            out.append(str(path.relative_to(ws.root)))
    intents = ws.state_dir / "intents"
    if intents.is_dir():
        out += [str(p.relative_to(ws.root)) for p in intents.iterdir()]
    staging = ws.state_dir / "import-staging"
    if staging.is_dir():
        out += [str(p.relative_to(ws.root)) for p in staging.iterdir()]
    return out


def problems(ws: Workspace) -> list[str]:
    """Every invariant that does not hold (empty when the workspace is consistent)."""
    found: list[str] = []
    for path in iter_session_files(ws):
        _events, stats = read_events(path)
        if stats.corrupt or stats.unsupported:
            found.append(f"session {path.name}: {stats.corrupt} corrupt line(s)")
        if stats.truncated and path.stat().st_size and not _run_log(path):
            found.append(f"session {path.name}: a truncated line in an imported session")
    for path in list(ws.dreams_dir.glob("*/*.json")) + list(ws.state_dir.glob("dream/*/*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            found.append(f"{path.relative_to(ws.root)} does not parse")
    audit = list(iter_audit(ws))
    for name in list_playbook_names(ws):
        found += _playbook_problems(ws, name, audit)
    found += [f"stray: {p}" for p in stray_files(ws)]
    return found


def _run_log(path: Path) -> bool:
    """A log written by `dreamcli run` (a kill may cut its last line: the reader skips it)."""
    with open(path, "rb") as f:
        first = f.readline()
    try:
        return json.loads(first).get("source") == "dreamcli"
    except (ValueError, AttributeError):
        return False


def _playbook_problems(ws: Workspace, name: str, audit: list[dict[str, Any]]) -> list[str]:
    out = []
    live, text = read_live(ws, name)
    if live is None:
        return [f"playbook {name}: unreadable"]
    dups = duplicate_entries(live)
    if dups:
        out.append(f"playbook {name}: duplicate live entries {[d.id for d, _ in dups]}")
    recs = [r for r in audit if r.get("playbook") == name and isinstance(r.get("version_after"), int)]
    made = {r["version_after"] for r in recs if r.get("version_after") != r.get("version_before")}
    for v in history_versions(ws, name):
        path = ws.playbook_history_dir / name / f"v{v}.md"
        parse_playbook(path.read_text(encoding="utf-8"), file=str(path))
        if v not in made and not _seeded(audit, name, v):
            out.append(f"playbook {name}: version {v} has no audit record")
    latest = [r for r in recs if r.get("hash_after")]
    if latest and latest[-1].get("hash_after") != content_hash(text):
        out.append(f"playbook {name}: the live file is not what the last audit record says")
    return out


def _seeded(audit: list[dict[str, Any]], name: str, version: int) -> bool:
    """A version a bundle import brought with it (audited as the import of the playbook)."""
    return any(r.get("action") == "import" and r.get("playbook") == name
               and isinstance(r.get("version_after"), int) and version <= r["version_after"] for r in audit)


def state_digest(ws: Workspace) -> dict[str, Any]:
    """What a serial order of commands determines: live entry texts, session ids, the texts of the
    operations still pending review, the audited sessions."""
    from dreamcli.playbooks.proposals import pending_dreams

    books = {}
    for name in list_playbook_names(ws):
        live, _ = read_live(ws, name)
        books[name] = sorted(e.text for e in live.entries()) if live else None
    pending = sorted(str(op.text) for d in pending_dreams(ws, problems=[])
                     for op in d.undecided() if op.op != "counts")
    sessions = sorted(p.stem for p in iter_session_files(ws))
    imported = sum(int(r.get("sessions") or r.get("sessions_added") or 0) for r in iter_audit(ws)
                   if r.get("action") in ("sessions-import", "import"))
    return {"playbooks": books, "pending": pending, "sessions": sessions, "sessions_audited": imported}
