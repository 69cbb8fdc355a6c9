"""The evidence a decision was made on (docs/audit.md): every `approve`, `reject` and `edit` record
carries `proposal_hash`, the content hash of `dreams/<id>/proposal.json` as read for the decision, and
`playbooks audit --verify` checks that the dream's proposal still has it.

A dream writes its proposal once, and no command rewrites or removes it (none prunes dreams), so a
proposal that differs was rewritten after the decision (its evidence, support or text made up), and a
missing one, or a missing dream folder, was removed. Records written before proposal hashes have none:
they are counted, not checked.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.audit_chain import parse_line
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.playbooks.proposals import Dream

DECISIONS = ("approve", "reject", "edit")
PROPOSAL_FILE = "proposal.json"
# a dream id as a folder name: never a path (no dot, no slash), whatever a record says
_DREAM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def load_decided(ws: Workspace, dream_id: str) -> tuple[Dream, dict[str, str]]:
    """The dream a decision is made on (`load_dream`), and `{"proposal_hash": …}` for its audit record:
    the content hash of proposal.json as it was read. The file is hashed before and after it is read, so
    a proposal rewritten meanwhile (by a writer that ignores the lock) is refused, not recorded under the
    other's hash. Empty when the file cannot be hashed (the record then holds no hash)."""
    from dreamcli.errors import InputError
    from dreamcli.playbooks.proposals import load_dream, resolve_dream_id

    dream_id = resolve_dream_id(ws, dream_id)
    before = proposal_hash(ws.dreams_dir / dream_id)
    dream = load_dream(ws, dream_id)
    after = proposal_hash(dream.dir)
    if before != after:
        raise InputError("changed while it was read; nothing was decided: run the command again",
                         file=f"{ws.dreams_dir.name}/{dream_id}/{PROPOSAL_FILE}")
    return dream, {"proposal_hash": after} if after else {}


def proposal_hash(dream_dir: Path) -> str | None:
    """The content hash (`sha256:…`) of a dream's proposal.json as it is now; None when it cannot be read."""
    digest, _ = _file_hash(dream_dir / PROPOSAL_FILE)
    return digest


def _file_hash(path: Path) -> tuple[str | None, str | None]:
    """(`sha256:…` of a regular file's bytes, None) or (None, why not): not following a symlink, and not
    blocking on a FIFO, so a planted file cannot hang the check or point it elsewhere."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None, "is missing"
    except OSError as e:
        return None, f"cannot be read ({e.strerror or e})"
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None, "is not a regular file"
        try:
            return "sha256:" + hashlib.file_digest(f, "sha256").hexdigest(), None
        except OSError as e:
            return None, f"cannot be read ({e.strerror or e})"


def check_evidence(ws: Workspace, lines: list[bytes]) -> dict[str, Any]:
    """`{checked, problems, unhashed}`: how many records with a `proposal_hash` were checked, each one
    whose dream's proposal is not that file any more (`{line, dream_id, hash, recorded_hash, reason}`),
    and how many decisions (approve, reject, edit of a dream) have no hash, from before proposal hashes."""
    out: dict[str, Any] = {"checked": 0, "problems": [], "unhashed": 0}
    found: dict[str, tuple[str | None, str | None]] = {}  # dream id -> (hash, why not) of its proposal now
    for i, body in enumerate(lines):
        if b'"dream_id"' not in body and b'"proposal_hash"' not in body:
            continue
        rec = parse_line(body)
        if rec is None:
            continue  # not a record: the chain check reports it
        recorded, dream_id, action = rec.get("proposal_hash"), rec.get("dream_id"), rec.get("action")
        if recorded is None:
            if action in DECISIONS and isinstance(dream_id, str):
                out["unhashed"] += 1
            continue
        n = i + 1
        out["checked"] += 1
        what = f"the {action} on audit line {n}" if isinstance(action, str) and action in DECISIONS \
            else f"audit line {n}"
        problem = {"line": n, "dream_id": dream_id if isinstance(dream_id, str) else None, "hash": None,
                   "recorded_hash": recorded if isinstance(recorded, str) else None}
        if not isinstance(recorded, str):
            out["problems"].append(problem | {"reason": f"{what} has a proposal_hash that is not a string "
                                                        "(edited outside dreamcli)"})
            continue
        if not isinstance(dream_id, str) or not _DREAM_ID.fullmatch(dream_id):
            out["problems"].append(problem | {"reason": f"{what} has a proposal_hash but no dream id that names "
                                                        "a dream folder (edited outside dreamcli)"})
            continue
        if dream_id not in found:
            folder = ws.dreams_dir / dream_id
            found[dream_id] = _file_hash(folder / PROPOSAL_FILE) if folder.is_dir() else (None, "folder")
        now, why = found[dream_id]
        problem["hash"] = now
        if now == recorded:
            continue
        file = f"dreams/{dream_id}/{PROPOSAL_FILE}"
        reason = (
            f"dream {dream_id} is missing (dreams/{dream_id}/), so the proposal {what} was decided on cannot be "
            "checked: no dreamcli command removes a dream" if why == "folder" else
            f"{file} {why}, so the proposal {what} was decided on cannot be checked" if why is not None else
            f"{file} ({(now or '')[:19]}…) is not the proposal {what} was decided on ({recorded[:19]}…): rewritten "
            "after the decision")
        out["problems"].append(problem | {"reason": reason})
    return out

