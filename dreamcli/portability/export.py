"""`dreamcli export`: approved playbooks out of the workspace in portable formats."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from dreamcli import __version__
from dreamcli.audit import append_audit, current_actor
from dreamcli.errors import DreamError, UsageError, stdout_closed, storage_error
from dreamcli.portability.bundle_io import DirSink, TarSink, is_tarball
from dreamcli.portability.failures import as_output, workspace_failure
from dreamcli.portability.manifest import MANIFEST, build_manifest, manifest_bytes, sha256_hex
from dreamcli.portability.memory_dir import render_memory_dir
from dreamcli.portability.parquet import bucket_store
from dreamcli.portability.select import (
    Selected,
    as_of,
    history_files,
    redacted_events,
    redacted_session,
    select_playbooks,
    source_session_ids,
)
from dreamcli.portability.text_formats import render_agents_md, render_claude_md, render_json
from dreamcli.redaction import Redactor, for_patterns
from dreamcli.workspace.fsutil import atomic_write_bytes, check_output_file, write_fully
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.userpath import user_path

if TYPE_CHECKING:
    from dreamcli.store.base import SessionStore

FORMATS = ("bundle", "json", "claude-md", "agents-md", "memory-dir")
DEFAULT_OUTPUT = {"bundle": "dreamcli-bundle-{stamp}.tar.gz", "json": "dreamcli-playbooks.json",
                  "claude-md": "CLAUDE.md", "agents-md": "AGENTS.md", "memory-dir": "dreamcli-memory"}
STDOUT = "-"


@dataclass
class ExportResult:
    format: str
    output: str
    playbooks: list[dict[str, Any]]
    files: int = 0
    bytes: int = 0
    sessions: int = 0
    missing_sessions: list[str] = field(default_factory=list)
    history: bool = False

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def export_playbooks(
    ws: Workspace, *, fmt: str = "bundle", output: str | None = None, names: list[str] | None = None,
    include_history: bool = False, include_sessions: bool = False, force: bool = False,
    redaction_patterns: tuple[str, ...] | list[str] = (), stdout: BinaryIO | None = None,
    actor: str | None = None, cwd: Path | None = None,
) -> ExportResult:
    if fmt not in FORMATS:
        raise UsageError(f"--format: unknown format {fmt!r} (use one of: {', '.join(FORMATS)})")
    if include_sessions and fmt not in ("bundle", "json"):
        raise UsageError("--include-sessions works with --format bundle or json")
    if include_history and fmt != "bundle":
        raise UsageError("--history works with --format bundle")
    if output == STDOUT and fmt == "memory-dir":
        raise UsageError("--format memory-dir writes a directory; give -o DIR (not -)")
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    target = _target(output, fmt, now, cwd)  # a default name has the time of the export
    if target is not None:  # its path goes into the audit record: refused before anything is written
        user_path(target, "-o", recorded=True)
    selected = select_playbooks(ws, names)
    created = as_of(selected) or now  # the content's time, not the export's: the same playbooks, the same bytes
    redactor = for_patterns(redaction_patterns)
    store = bucket_store(ws) if include_sessions else None  # sessions.url: the bucket's sessions too
    provenance = redactor.redact_obj({"workspace": str(ws.root), "host": socket.gethostname(),
                                      "actor": current_actor(actor), "tool": f"dreamcli {__version__}"})
    result = ExportResult(format=fmt, output=str(target) if target else STDOUT,
                          playbooks=[s.summary() for s in selected], history=include_history)
    try:
        if fmt == "bundle":
            _bundle(ws, selected, target, stdout, result, created=created, provenance=provenance, force=force,
                    include_history=include_history, include_sessions=include_sessions, redactor=redactor,
                    store=store)
        elif fmt == "memory-dir":
            assert target is not None
            _memory_dir(selected, target, result, created=created)
        else:
            data = _document(ws, selected, fmt, result, created=created, provenance=provenance,
                             include_sessions=include_sessions, redactor=redactor, store=store)
            result.files, result.bytes = 1, len(data)
            if target is None:
                write_fully(_stdout(stdout), data)
            else:
                _check_free(target, force)
                atomic_write_bytes(target, data)
    except BrokenPipeError:  # `-o - | head`: the reader left; the CLI stops quietly (EXIT_PIPE)
        raise
    except OSError as e:  # a full disk, a closed or failing stdout, a parent that is not a directory; or a
        # workspace file that cannot be read (a session, a kept version): that file's error, not the output's
        raise workspace_failure(e, ws, target) or _write_error(e, target) from None
    append_audit(ws, "export", actor=actor, format=fmt, output=result.output,
                 playbooks=[{"name": p["name"], "version": p["version"], "sha256": p["sha256"]}
                            for p in result.playbooks],
                 history=include_history, sessions=result.sessions)
    return result


def _write_error(e: OSError, target: Path | None) -> DreamError:
    """Why the export could not be written: the machine's (a full disk, a quota, a read-only file system, an
    I/O error: exit 74, the file named, `storage_error`, a read-only one's advice naming -o, another place to
    write to, not --home), else the -o given (a parent that is not a directory, a folder not this user's, a
    closed stdout: exit 2)."""
    where = "stdout" if target is None else str(target)
    if target is not None and isinstance(e.filename, str):  # a file of a temporary: as the file it becomes
        named = as_output(Path(os.path.abspath(e.filename)), Path(os.path.abspath(target)))
        e = OSError(e.errno, e.strerror, str(named)) if str(named) != os.path.abspath(e.filename) else e
    stored = storage_error(e if e.filename else OSError(e.errno, e.strerror, where), elsewhere="another -o PATH")
    if stored is not None:
        return stored
    also = f" ({e.filename})" if e.filename and str(e.filename) != where else ""
    return UsageError(f"cannot write the export to {where}: {e.strerror or e}{also}")


def _target(output: str | None, fmt: str, created: str, cwd: Path | None) -> Path | None:
    if output == STDOUT:
        return None
    base = cwd or Path.cwd()
    if output is None:
        stamp = created.replace("-", "").replace(":", "").replace("T", "-").rstrip("Z")
        return base / DEFAULT_OUTPUT[fmt].format(stamp=stamp)
    p = Path(output).expanduser()
    return p if p.is_absolute() else base / p


def _stdout(stdout: BinaryIO | None) -> BinaryIO:
    if stdout is not None:
        return stdout
    out = getattr(sys.stdout, "buffer", None)  # sys.stdout is None when the command starts with it closed
    if out is None:
        raise stdout_closed()  # one wording with the CLI's start-up check (dreamcli.cli.streams)
    return cast(BinaryIO, out)


def _check_free(target: Path, force: bool) -> None:
    """A file target must be missing, or with --force a regular file: the export is written beside it and
    renamed over it, which would replace a symlink, a FIFO or a device with a plain file."""
    check_output_file(target, "-o")
    if target.exists() and not force:
        raise UsageError(f"{target} exists (use --force to overwrite it, or choose another -o)")


def _check_dir(target: Path) -> None:
    """A directory target is created by renaming a finished sibling onto it: a symlink would be replaced."""
    if target.is_symlink():
        raise UsageError(f"{target} is a symbolic link (refused: give -o the directory it points to, or a new "
                         "name)")


def _memory_dir(selected: list[Selected], target: Path, result: ExportResult, *, created: str) -> None:
    files = render_memory_dir(selected, created=created)
    _check_dir(target)
    sink = DirSink(target)
    try:
        for name, data in files.items():
            sink.add(name, data)
            result.files += 1
            result.bytes += len(data)
        sink.close()
    except BaseException:
        sink.abort()
        raise


def _document(ws: Workspace, selected: list[Selected], fmt: str, result: ExportResult, *, created: str,
              provenance: dict[str, Any], include_sessions: bool, redactor: Redactor,
              store: SessionStore | None) -> bytes:
    if fmt == "claude-md":
        return render_claude_md(selected, created=created)
    if fmt == "agents-md":
        return render_agents_md(selected, created=created)
    sessions = None
    if include_sessions:
        sessions = []
        for sid in source_session_ids(selected):
            found = redacted_events(ws, sid, redactor, store)
            if found is None:
                result.missing_sessions.append(sid)
            else:
                sessions.append({"session_id": sid, "events": found[1]})
        result.sessions = len(sessions)
    return render_json(selected, created=created, provenance=provenance, sessions=sessions)


def _bundle(ws: Workspace, selected: list[Selected], target: Path | None, out: BinaryIO | None,
            result: ExportResult,
            *, created: str, provenance: dict[str, Any], force: bool, include_history: bool,
            include_sessions: bool, redactor: Redactor, store: SessionStore | None) -> None:
    make: Callable[[], TarSink | DirSink]
    if target is None:
        make = partial(TarSink, None, _stdout(out))
    elif target.name.lower().endswith((".tar.gz", ".tgz")):
        _check_free(target, force)
        make = partial(TarSink, target)
    elif is_tarball(target):  # `x.tar`: what is written is gzip-compressed, so the name must say so
        raise UsageError(f"-o {target.name}: a bundle tarball is gzip-compressed; name it .tar.gz or .tgz "
                         "(or give a directory name)")
    else:
        _check_dir(target)
        make = partial(DirSink, target)
    # A store that fails (or a file that cannot be read) leaves no half bundle: a file or directory is
    # written under a temporary name and removed on error, one session at a time; a tarball on stdout
    # cannot be taken back, so its sessions are all read before it begins.
    found: Iterable[tuple[str, str, bytes]] = (
        _bundle_sessions(ws, selected, redactor, store, result) if include_sessions else ())
    if target is None:
        found = list(found)
    sink = make()
    files: dict[str, dict[str, Any]] = {}

    def add(name: str, data: bytes) -> None:
        sink.add(name, data)
        files[name] = {"sha256": sha256_hex(data), "bytes": len(data)}

    playbooks = []
    sessions: list[str] = []
    try:
        for sel in selected:
            path = f"playbooks/{sel.name}.md"
            add(path, sel.raw)
            entry = {**sel.summary(), "path": path}
            if include_history:
                entry["history"] = []
                for name, data in history_files(ws, sel):
                    add(name, data)
                    entry["history"].append(int(name.rsplit("/v", 1)[1][:-3]))
            playbooks.append(entry)
        for sid, member, raw in found:
            add(member, raw)
            sessions.append(sid)
        manifest = build_manifest(files, playbooks, created=created, provenance=provenance,
                                  options={"history": include_history, "sessions": include_sessions},
                                  sessions=sessions, missing_sessions=result.missing_sessions)
        data = manifest_bytes(manifest)
        sink.add(MANIFEST, data)
        sink.close()
    except BaseException:
        sink.abort()
        raise
    result.files = len(files) + 1
    result.bytes = sum(f["bytes"] for f in files.values()) + len(data)
    result.sessions = len(sessions)


def _bundle_sessions(ws: Workspace, selected: list[Selected], redactor: Redactor, store: SessionStore | None,
                     result: ExportResult) -> Iterator[tuple[str, str, bytes]]:
    """(session id, bundle path, redacted bytes) of each source session found, in first-mention order; the
    others are added to `result.missing_sessions`."""
    for sid in source_session_ids(selected):
        found = redacted_session(ws, sid, redactor, store)
        if found is None:
            result.missing_sessions.append(sid)
        else:
            yield (sid, *found)
