"""The audit trail as a hash chain (docs/audit.md).

Every line of `audit.jsonl` written by this version carries `prev`, the hash of the line before it
(`sha256:` of its bytes without the newline; the first line of a new trail points at GENESIS).
`state/audit-head.json` anchors the end: the number of lines, the byte size and the hash of the last
line, so removing lines at the end shows too. A trail written before the chain existed is upgraded
on its first write: that line carries `chain: {legacy_lines, legacy_hash}`, the count and the hash of
every older line, and `prev` pointing at the last of them. A record appended to a trail that is
shorter than its head (lines removed from the end), or whose head went missing after the chain had
more than one line, carries `chain_break`, which `audit --verify` reports from then on.

Appends take the workspace's "audit" lock so two processes never chain onto the same line.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.fsutil import atomic_write_text, open_append, sync_fd, write_all
from dreamcli.workspace.home import Workspace

GENESIS = "sha256:" + "0" * 64
HEAD_FILE = "audit-head.json"
LOCK_NAME = "audit"
LOCK_WAIT_S = 60.0


def head_path(ws: Workspace) -> Path:
    return ws.state_dir / HEAD_FILE


def parse_line(body: bytes) -> dict[str, Any] | None:
    """One line of the trail as a record (a JSON object); None when it is not one."""
    try:
        rec = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return rec if isinstance(rec, dict) else None


def line_hash(raw: bytes) -> str:
    """The chain hash of one stored line (its bytes without the trailing newline)."""
    return "sha256:" + hashlib.sha256(raw.rstrip(b"\r\n")).hexdigest()


def read_head(ws: Workspace) -> dict[str, Any] | None:
    try:
        data = json.loads(head_path(ws).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("lines", "bytes")) \
            or not isinstance(data.get("hash"), str):
        return None
    return data


def _scan(path: Path, start: int = 0) -> tuple[int, bytes | None, bool]:
    """(lines from `start` to the end, the last line, whether the file ends with a newline)."""
    count, last, ends = 0, None, True
    try:
        with open(path, "rb") as f:
            f.seek(start)
            for raw in f:
                count += 1
                last = raw
    except FileNotFoundError:
        return 0, None, True
    if last is not None:
        ends = last.endswith(b"\n")
    return count, last, ends


def _legacy(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    count = 0
    try:
        with open(path, "rb") as f:
            for raw in f:
                count += 1
                h.update(raw.rstrip(b"\r\n") + b"\n")
    except FileNotFoundError:
        pass
    return count, "sha256:" + h.hexdigest()


def _link(ws: Workspace) -> tuple[str, int, dict[str, Any], bytes]:
    """(prev hash, lines so far, fields to add to the new record, bytes to write before it)."""
    path = ws.audit_path
    size = path.stat().st_size if path.exists() else 0
    head = read_head(ws)
    extra: dict[str, Any] = {}
    if head is not None and head["bytes"] == size:
        return head["hash"], head["lines"], extra, b""
    if head is not None and head["bytes"] < size:
        count, last, ends = _scan(path, head["bytes"])  # lines after the head: a crash before its update
        lines = head["lines"] + count
    else:
        count, last, ends = _scan(path)
        lines = count
        if head is None and count:
            chained = _first_chained(path)
            if chained is None:  # a trail from before the chain: anchor every old line in this record
                legacy_lines, legacy_hash = _legacy(path)
                extra["chain"] = {"legacy_lines": legacy_lines, "legacy_hash": legacy_hash, "upgraded": now_rfc3339()}
            elif chained == count:  # only the first chained line: its command died before writing the head
                extra["chain_note"] = "the head file was missing; re-anchored"
            else:  # the head went missing later: lines after it may have gone with it
                extra["chain_break"] = {"reason": "the head file was missing", "lines": count, "bytes": size}
        elif head is not None:  # the trail is shorter than the head says: lines were removed from the end
            extra["chain_break"] = {"reason": f"the head recorded {head['lines']} lines / {head['bytes']} bytes, "
                                              f"the file had {count} lines / {size} bytes",
                                    "head": {k: head.get(k) for k in ("lines", "bytes", "hash")},
                                    "lines": count, "bytes": size}
    prefix = b"" if ends else b"\n"  # a torn last line stays a line of its own
    prev = GENESIS if last is None else line_hash(last)
    return prev, lines, extra, prefix


def _first_chained(path: Path) -> int | None:
    with open(path, "rb") as f:
        for i, raw in enumerate(f, 1):
            if b'"prev":' in raw:
                return i
    return None


def catch_up_head(ws: Workspace) -> bool:
    """Move the head to the end of the trail when a process died between appending a whole line and
    updating the head (dreamcli.recovery): the lines themselves still carry their links, which
    `audit --verify` checks. A cut-off last line is left to the next append, and so is a head that cannot
    be written now (a full disk): it never fails the command that runs the recovery. True when moved."""
    from dreamcli.errors import LockHeld
    from dreamcli.workspace.lock import workspace_lock

    head = read_head(ws)
    try:
        size = ws.audit_path.stat().st_size
    except FileNotFoundError:
        return False
    if head is None or head["bytes"] >= size:
        return False
    try:
        with workspace_lock(ws, LOCK_NAME, wait=LOCK_WAIT_S):
            head = read_head(ws)
            size = ws.audit_path.stat().st_size
            if head is None or head["bytes"] >= size:
                return False
            count, last, ends = _scan(ws.audit_path, head["bytes"])
            if last is None or not ends:
                return False
            body = last.rstrip(b"\n")
            try:
                ts = json.loads(body).get("ts")
            except (ValueError, AttributeError, RecursionError):
                return False
            new = {"v": 1, "lines": head["lines"] + count, "bytes": size, "hash": line_hash(body), "ts": ts}
            try:
                atomic_write_text(head_path(ws), json.dumps(new) + "\n")
            except OSError as e:  # a full disk: the head stays behind, for the next append or catch-up
                if e.errno not in DISK_FULL:
                    raise
                return False
            return True
    except LockHeld:
        return False


def append_chained(ws: Workspace, record: dict[str, Any], *, sign: Any = None) -> tuple[dict[str, Any], int, str]:
    """Append `record` with its chain link (and `sig`, when `sign(payload_bytes)` is given).
    Returns (the record as written, its 1-based line number, its line hash)."""
    from dreamcli.workspace.lock import workspace_lock

    with workspace_lock(ws, LOCK_NAME, wait=LOCK_WAIT_S):
        prev, lines, extra, prefix = _link(ws)
        record = {**record, **extra, "prev": prev}
        if sign is not None:
            signature = sign(signing_payload(record))
            if signature:
                record["sig"] = signature
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        fd = open_append(ws.audit_path)
        try:
            write_all(fd, prefix + line + b"\n")
            sync_fd(fd, ws.audit_path)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        number = lines + 1
        digest = line_hash(line)
        head = {"v": 1, "lines": number, "bytes": size, "hash": digest, "ts": record.get("ts")}
        try:
            atomic_write_text(head_path(ws), json.dumps(head) + "\n")
        except OSError as e:
            if e.errno not in DISK_FULL or not _behind(ws, lines, size - len(prefix + line) - 1):
                raise
        return record, number, digest


# The head write failures the record outlives: a full disk or quota, which the next write (or recovery) gets
# past. Any other (no permission on state/, a read-only or failing disk) would stop every later head write
# too, leaving verify to report each line after it: the command says so (exit 74).
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def _behind(ws: Workspace, lines: int, start: int) -> bool:
    """Whether the head a failed write left (a full disk; the write is atomic, so the old one) ends at or
    before byte `start`, where the line just appended begins: then the record stands, and the next append,
    or the next command's recovery (`catch_up_head`, which `audit --verify` runs first), counts the lines
    after the head from the trail itself, as after a crash between the two writes. Without a head (the
    trail's first chained line), or one past the trail's end (lines were removed: the record carries
    `chain_break`), the next append could not: the failure is raised (exit 74)."""
    head = read_head(ws)
    return head is not None and head["bytes"] <= start and head["lines"] <= lines


def signing_payload(record: dict[str, Any]) -> bytes:
    """What a signature covers: the record without `sig`, keys sorted, compact."""
    body = {k: v for k, v in record.items() if k != "sig"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
