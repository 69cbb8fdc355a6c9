"""Recovery that any command runs first (docs/reliability.md): the intents a killed dream, approve,
revert, sessions import or bundle import left behind are rolled forward or back before the command
does anything else, each under the lock of its operation. An operation whose lock is held by a live
process is left to that process (or to the next command). Temp files and folders of dead processes are swept first,
when a sweep is due: a command that finds every process that used the workspace still running (or ended cleanly)
checks one directory (`state/live/`, dreamcli.workspace.live) and imports nothing more."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dreamcli.errors import LockHeld
from dreamcli.workspace.home import Workspace


def needs_recovery(ws: Workspace) -> bool:
    with contextlib.suppress(OSError):
        if any(p.suffix == ".json" for p in ws.intents_dir.iterdir()):
            return True
    root = ws.playbook_history_dir
    return root.is_dir() and any(root.glob("*/intent.json"))


def sweep_dead(ws: Workspace) -> None:
    """Temp files, temp and staging folders of dead processes (safe without a lock: a live writer's
    files carry its pid and are never touched): in the workspace (a pilot trial's memory copy
    `memory/.tmp-pilot-<session>-<pid>/` too) and, in the system's temp directory, the private folders
    of `live.private_tempdir` (a pilot trial's workdir copy `dreamcli-pilot-<pid>-<random>/`). And the agent's
    shells that a dead process left running, with all they started (`shell_records.stop_orphaned_groups`)."""
    from dreamcli.dream import journal as dream_journal
    from dreamcli.sessions.importers import journal as import_journal
    from dreamcli.shell_records import stop_orphaned_groups
    from dreamcli.workspace.live import shells_dir, sweep_tempdirs
    from dreamcli.workspace.sweep import sweep_temp
    from dreamcli.workspace.workdirs import workdirs_root

    stop_orphaned_groups(shells_dir(ws))
    for folder in (ws.playbooks_dir, ws.dreams_dir, ws.state_dir, ws.root / "memory"):
        sweep_temp(folder, recursive=True)
    sweep_temp(workdirs_root(ws))  # a workdir copy cut short (agent.scratch); not inside the copies: the agents'
    sweep_tempdirs()
    _sweep_old_pilot_memory(ws)
    import_journal.sweep_staging(ws)
    dream_journal.sweep(ws)


def _sweep_old_pilot_memory(ws: Workspace) -> None:
    """`memory/.pilot-<session>/`: a pilot trial's memory copy made by an older dreamcli (no pid in its
    name), an hour after it was made (its ctime: the copy keeps the store's mtime)."""
    import shutil
    import stat
    import time

    from dreamcli.workspace.sweep import OLD_S

    with contextlib.suppress(OSError):
        for path in ws.memory_dir.glob(".pilot-*"):
            with contextlib.suppress(OSError):
                st = path.lstat()
                if stat.S_ISDIR(st.st_mode) and time.time() - max(st.st_mtime, st.st_ctime) > OLD_S:
                    shutil.rmtree(path, ignore_errors=True)


def recover_workspace(ws: Workspace, warnings: list[str] | None = None) -> list[str]:
    """Run every recovery that is due; returns what was done, one line each. What cannot be recovered (a
    directory where a state file belongs, a disk error) is added to `warnings`, one line each, and left
    for `dreamcli doctor` and the operation's next run: it never stops an unrelated command."""
    problems: list[str] = [] if warnings is None else warnings
    from dreamcli.workspace import live

    if not ws.has_layout():  # not a workspace (a project folder named by mistake): never sweep it
        return []
    due, dead = live.sweep_due(ws)
    if due:
        sweep_dead(ws)
        live.swept(ws, dead)  # only after the sweep: a sweep killed half way is done again
    if ws.audit_path.exists():  # no trail, nothing to catch up (and the chain's hashing stays unloaded)
        from dreamcli.audit_chain import catch_up_head

        catch_up_head(ws)  # an audit line appended, then killed before the head moved
    if not needs_recovery(ws):
        return []
    from dreamcli.audit import current_actor
    from dreamcli.dream import journal as dream_journal
    from dreamcli.playbooks import journal as playbooks_journal
    from dreamcli.sessions.importers import journal as import_journal
    from dreamcli.workspace.lock import workspace_lock

    done: list[str] = []
    with _reported(problems, "an interrupted approve or revert"), contextlib.suppress(LockHeld), \
            workspace_lock(ws, "playbooks"):
        for rec in playbooks_journal.recover_all(ws, current_actor()):
            done.append(f"playbook {rec.get('playbook')}: audited an interrupted {rec.get('interrupted')}")
    with _reported(problems, "an interrupted sessions import"), contextlib.suppress(LockHeld), \
            workspace_lock(ws, "sessions-import"):
        from dreamcli.portability.arrivals import publisher  # the index and object store hear of them

        if n := import_journal.recover(ws, on_commit=publisher(ws)):
            done.append(f"sessions import: audited {n} session(s) of an interrupted import")
    with _reported(problems, "an interrupted dream"), contextlib.suppress(LockHeld), workspace_lock(ws, "dream"):
        if n := dream_journal.recover(ws, problems):
            done.append(f"dream: finished or undid {n} interrupted publish step(s)")
    return done


@contextlib.contextmanager
def _reported(problems: list[str], what: str) -> Iterator[None]:
    """An OS error while recovering `what` becomes one line in `problems` (the intent stays)."""
    try:
        yield
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        problems.append(f"cannot recover {what}: {where}{e.strerror or e}; left in place (see `dreamcli doctor`)")
