"""The intent journal of a dream's publish step (docs/reliability.md).

    stage state -> intent -> dreams/<id>/ (the commit point) -> supersede -> install state -> done

The new watermark and aggregates are written to `state/dream/<playbook>/staged-<dream id>/`, then an
intent (`state/intents/dream-….json`) names the dream, the staged folder and the pending dreams the
new one supersedes. Renaming the dream's folder into place is the commit point. Recovery, run by the
next dream (or any next command, `dreamcli.recovery`) holding the "dream" lock:

- the dream's folder is in place (or the dream wrote none): roll forward: mark the superseded dreams,
  install the staged state, drop the intent;
- it is not: roll back: remove the staged state and the dream's temp folder; the sessions are simply
  dreamed again.

Either way the sessions of one dream are proposed once. Temp files and `.tmp-*` folders of dead
processes under `dreams/` and the dream state are swept.

A dream supersedes a pending dream of the same playbook when no entry of the older one has been
decided yet and every one of its operations is proposed again by the new one (same signature, or the
same target and text): `dream.json` of the older one gets `status: superseded` and `superseded_by`,
and approve refuses it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.dream.watermark import state_dir
from dreamcli.faults import crashpoint
from dreamcli.playbooks.model import normalize_text
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import atomic_write_text, ensure_dir
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.intents import done, pending_intents, write_intent
from dreamcli.workspace.sweep import sweep_temp

if TYPE_CHECKING:  # annotations only: recovery sweeps through this module without pydantic
    from dreamcli.playbooks.proposal_model import Operation, Proposal

KIND = "dream"
STATE_FILES = ("aggregates.json", "watermark.json")


def staged_dir(ws: Workspace, playbook: str, token: str) -> Path:
    """The folder of a dream's new state; first checks that the state can be installed (`check_state_paths`),
    so that a dream never publishes a proposal whose state cannot follow it."""
    check_state_paths(ws, playbook)
    return ensure_dir(state_dir(ws, playbook) / f"staged-{token}")


def check_state_paths(ws: Workspace, playbook: str) -> None:
    """UsageError (exit 2) naming the path when something other than a regular file (a directory, a FIFO,
    a device) stands where the playbook's dream state goes, or a file where its folder goes."""
    from dreamcli.errors import UsageError

    folder = state_dir(ws, playbook)
    for path in (ws.state_dir, ws.state_dir / "dream", folder):
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISDIR(os.stat(path).st_mode):
                raise UsageError(f"{path}: not a directory, where the dream keeps its state; move it away "
                                 "(`dreamcli doctor` lists such paths)")
    for name in STATE_FILES:
        path = folder / name
        try:
            kind = blocked_file(path)
        except OSError as e:
            raise UsageError(f"{path}: cannot check the dream's state file: {e.strerror}") from None
        if kind is not None:
            raise UsageError(f"{path}: {kind if kind == DIRECTORY else 'not a regular file'}, where the dream's "
                             "state file belongs; move it away (`dreamcli doctor` lists such paths)")


DIRECTORY = "a directory"


def blocked_file(path: Path) -> str | None:
    """What stands where a file belongs when it is not one (a dream state file here, any file of the
    workspace for `doctor`): "a directory", "a FIFO" or "not a regular file" (a device, a socket). None
    for a regular file, a symlink or nothing; another OSError (a denied parent) is raised."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
        return None
    return DIRECTORY if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"


def begin(ws: Workspace, playbook: str, dream_id: str | None, staged: Path, supersedes: list[str]) -> Path:
    path = write_intent(ws, KIND, {"playbook": playbook, "dream_id": dream_id, "staged": staged.name,
                                   "supersedes": supersedes})
    crashpoint("dream.intent")
    return path


def finish(ws: Workspace, intent: Path, playbook: str, dream_id: str | None, staged: Path,
           supersedes: list[str]) -> None:
    """After the commit point: roll forward (idempotent)."""
    crashpoint("dream.written")
    if dream_id is not None:
        for old in supersedes:
            mark_superseded(ws, old, dream_id)
    crashpoint("dream.superseded")
    install(ws, playbook, staged)
    crashpoint("dream.state")
    done(intent)


def install(ws: Workspace, playbook: str, staged: Path) -> None:
    check_state_paths(ws, playbook)  # a directory in a file's place: a one-line error, not an OSError
    target = state_dir(ws, playbook)
    for name in STATE_FILES:
        with contextlib.suppress(FileNotFoundError):
            os.replace(staged / name, target / name)
    shutil.rmtree(staged, ignore_errors=True)


def recover(ws: Workspace, problems: list[str] | None = None) -> int:
    """Finish or undo the publish step of dreams that were killed (hold the "dream" lock). An intent that
    cannot be finished (its state path is blocked, a disk error) is left in place and described, one
    line each, in `problems`: it must not stop every other command."""
    from dreamcli.errors import DreamError

    handled = 0
    for path, intent in pending_intents(ws, KIND):
        try:
            handled += _recover_one(ws, path, intent)
        except (OSError, DreamError) as e:
            why = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) and e.filename else str(e)
            if problems is not None:
                problems.append(f"cannot finish the interrupted dream publish {path.name}: {why}; "
                                "left for the next dream (see `dreamcli doctor`)")
    sweep(ws)
    return handled


def _recover_one(ws: Workspace, path: Path, intent: dict[str, Any]) -> int:
    playbook = intent.get("playbook")
    staged_name = intent.get("staged")
    if not isinstance(playbook, str) or not isinstance(staged_name, str) or "/" in staged_name:
        done(path)
        return 0
    staged = state_dir(ws, playbook) / staged_name
    dream_id = intent.get("dream_id")
    if dream_id is None or (isinstance(dream_id, str) and (ws.dreams_dir / dream_id).is_dir()):
        supersedes = [s for s in intent.get("supersedes") or [] if isinstance(s, str)]
        finish(ws, path, playbook, dream_id if isinstance(dream_id, str) else None, staged, supersedes)
    else:
        shutil.rmtree(staged, ignore_errors=True)
        done(path)
    return 1


def sweep(ws: Workspace) -> None:
    """Temp files and folders of dead processes; staged state no intent refers to."""
    sweep_temp(ws.dreams_dir)
    root = ws.state_dir / "dream"
    if not root.is_dir():
        return
    live = {str(i.get("staged")) for _p, i in pending_intents(ws, KIND)}
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        sweep_temp(folder)
        for staged in folder.glob("staged-*"):
            if staged.name not in live and _stale(staged):
                shutil.rmtree(staged, ignore_errors=True)


def _stale(staged: Path) -> bool:
    """A staged folder of a dead dream (its pid is in its name)."""
    from dreamcli.workspace.sweep import pid_alive

    pid = staged.name.rsplit("-", 1)[-1]
    return not (pid.isdigit() and int(pid) != os.getpid() and pid_alive(int(pid)))


# --- superseding -----------------------------------------------------------------------------------

def _keys(op: Operation) -> set[str]:
    keys = {f"{op.target}:{op.op}:{normalize_text(op.text or '').casefold()}"}
    if op.signature:
        keys.add(f"sig:{op.signature}")
    return keys


def superseded_by(ws: Workspace, proposal: Proposal) -> list[str]:
    """Pending, undecided dreams of the same playbook whose every operation the new proposal repeats."""
    from dreamcli.playbooks.proposals import list_dreams

    new_keys: set[str] = set()
    for op in proposal.operations:
        new_keys |= _keys(op)
    out = []
    for dream in list_dreams(ws, problems=[]):
        if dream.proposal.playbook != proposal.playbook or dream.dream_id == proposal.dream_id:
            continue
        if dream.info.get("status") == "superseded" or dream.decisions or not dream.proposal.operations:
            continue
        if all(_keys(op) & new_keys for op in dream.proposal.operations):
            out.append(dream.dream_id)
    return out


def mark_superseded(ws: Workspace, dream_id: str, by: str) -> None:
    path = ws.dreams_dir / dream_id / "dream.json"
    try:
        info: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        info = {"dream_id": dream_id}
    if not isinstance(info, dict) or info.get("superseded_by") == by:
        return
    info.update(status="superseded", superseded_by=by, superseded=now_rfc3339())
    atomic_write_text(path, json.dumps(info, indent=2, ensure_ascii=False) + "\n")
