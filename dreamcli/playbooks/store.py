"""Playbooks in a workspace: `playbooks/<name>.md` (live) and `playbooks/.history/<name>/v<N>.md`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dreamcli.errors import DreamError, InputError, UsageError
from dreamcli.faults import crashpoint
from dreamcli.playbooks.format import check_round_trip, parse_playbook, render_playbook
from dreamcli.playbooks.frontmatter import VERSION_DIGITS
from dreamcli.playbooks.hand_edit import HandEdit, compare
from dreamcli.playbooks.model import Playbook
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HISTORY_DIGITS = VERSION_DIGITS  # a version has at most this many digits (ASCII only: `str.isdigit` takes "²")
HISTORY_FILE_RE = re.compile(rf"v(0|[1-9][0-9]{{0,{HISTORY_DIGITS - 1}}})\.md")  # `.history/<name>/v<N>.md`


def check_name(name: str) -> str:
    if not NAME_RE.match(name or "") or name.endswith(".md"):
        raise UsageError(f"invalid playbook name {name!r} (ASCII letters, digits, '.', '_', '-'; no path)")
    return name


def playbook_path(ws: Workspace, name: str) -> Path:
    return ws.playbooks_dir / f"{check_name(name)}.md"


def history_dir(ws: Workspace, name: str) -> Path:
    return ws.playbook_history_dir / check_name(name)


def history_path(ws: Workspace, name: str, version: int) -> Path:
    return history_dir(ws, name) / f"v{int(version)}.md"


def read_text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise InputError("is a directory, expected a playbook file", file=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", file=str(path), line=line) from None


def load_playbook(ws: Workspace, name: str) -> Playbook | None:
    """The live playbook `name`, or None when it does not exist. Malformed files raise InputError."""
    text = read_text(playbook_path(ws, name))
    if text is None:
        return None
    return parse_live(ws, name, text)


def parse_live(ws: Workspace, name: str, text: str) -> Playbook:
    """The live playbook parsed from `text`; a malformed one raises InputError with its line and reason,
    and how to recover: a run, an approval or an export never reads it as it is."""
    try:
        return parse_playbook(text, file=str(playbook_path(ws, name)))
    except InputError as e:
        where = str(InputError("", file=e.file, line=e.line, field=e.field))
        raise InputError(f"{str(e).removeprefix(where)}; {recovery_hint(ws, name)}", file=e.file, line=e.line,
                         field=e.field) from None


def recovery_hint(ws: Workspace, name: str) -> str:
    """What to do about a live playbook that does not parse: mend it by hand, or revert to the newest kept
    version (`playbooks revert` does not need the live file to parse)."""
    kept = history_versions(ws, name)
    if not kept:
        return f"fix the file, or empty it with: dreamcli playbooks revert {name} 0"
    return (f"fix the file, or make a kept version live again: dreamcli playbooks revert {name} {kept[-1]} "
            f"(versions: dreamcli playbooks history {name})")


def list_playbook_names(ws: Workspace) -> list[str]:
    """Names of the live playbooks, sorted."""
    d = ws.playbooks_dir
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.md") if p.is_file() and NAME_RE.match(p.stem))


# --- versions and history ------------------------------------------------------------------------

class ConcurrentChange(DreamError):
    """The live playbook changed between reading it and writing the new version."""


@dataclass
class Commit:
    name: str
    version_before: int
    version_after: int
    hash_before: str | None
    hash_after: str
    text_after: str
    hand_edited: bool  # the live file differed from its recorded version when this commit read it
    hand_edit: HandEdit | None = None  # what that edit changed (None for a live file that did not parse)


def version_number(given: str, name: str) -> int:
    """A version of playbook `name` as a person gives it: `2`, or `v2` as `playbooks history` lists it."""
    check_name(name)
    m = re.fullmatch(rf"[vV]?([0-9]{{1,{HISTORY_DIGITS}}})", given.strip())
    if m is None:
        raise UsageError(f"VERSION {given!r} is not a version: give a number such as 2 or v2 "
                         f"(see: dreamcli playbooks history {name})")
    return int(m.group(1))


def history_versions(ws: Workspace, name: str) -> list[int]:
    d = history_dir(ws, name)
    if not d.is_dir():
        return []
    out = []
    for p in d.glob("v*.md"):
        m = HISTORY_FILE_RE.fullmatch(p.name)
        if m is not None:
            out.append(int(m.group(1)))
    return sorted(out)


def load_version_text(ws: Workspace, name: str, version: int) -> str | None:
    return read_text(history_path(ws, name, version))


def load_version(ws: Workspace, name: str, version: int) -> Playbook | None:
    path = history_path(ws, name, version)
    text = read_text(path)
    return None if text is None else parse_playbook(text, file=str(path))


def edited_since(ws: Workspace, name: str, version: int, live_text: str) -> bool:
    """Whether the live text of `name` differs from its kept `version` (a hand edit since); False when no
    such version is kept (a playbook made by hand, not yet recorded)."""
    recorded = load_version_text(ws, name, version)
    return recorded is not None and recorded != live_text


def read_live(ws: Workspace, name: str) -> tuple[Playbook | None, str | None]:
    """The live playbook and the exact text it was parsed from (None, None when missing)."""
    text = read_text(playbook_path(ws, name))
    if text is None:
        return None, None
    return parse_live(ws, name, text), text


def read_live_or_damage(ws: Workspace, name: str) -> tuple[Playbook | None, str | None, InputError | None]:
    """As `read_live`, but a live file that does not parse is (None, its text, the parse error) instead of
    an error: for `playbooks history` and `revert`, which recover from it. A file that is not UTF-8 text
    still raises."""
    text = read_text(playbook_path(ws, name))
    if text is None:
        return None, None, None
    try:
        return parse_live(ws, name, text), text, None
    except InputError as e:
        return None, text, e


def now_seconds() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def commit_playbook(ws: Workspace, pb: Playbook, *, expected_text: str | None,
                    before_write: Callable[[Commit], None] | None = None, live_damaged: bool = False) -> Commit:
    """Write `pb` as the next version: `.history/<name>/v<N>.md` first, then the live file.

    Call it holding the workspace's "playbooks" lock. `expected_text` is the live text the change was
    computed from; if the file changed since (a writer that ignores the lock, a hand edit), nothing is
    written and ConcurrentChange is raised so the caller can recompute. A live version that has no
    history file yet (created or edited by hand) is kept in history before it is replaced.

    The new text must parse back to the same entries (`check_round_trip`); when it would not, nothing
    is written and InputError is raised: a commit never leaves an unreadable playbook. `before_write`
    is called with the planned commit after every check and before the first write (approval vets the
    commit's `hand_edit` and records its intent there, see dreamcli.playbooks.hand_edit and journal): what
    it raises stops the commit with nothing written. `live_damaged`: the live text does not parse (a
    revert recovering from it); it is replaced, never kept in history as a version.
    """
    from dreamcli.audit import content_hash

    name = check_name(pb.name)
    live = playbook_path(ws, name)
    current = read_text(live)
    if current != expected_text:
        raise ConcurrentChange(f"playbook {name} changed while this change was prepared; try again")
    version_before = pb.version
    hand_edited = False
    hand_edit: HandEdit | None = None
    keep_current = False
    if current is not None:
        recorded = load_version_text(ws, name, version_before)
        if recorded is None:  # made by hand (or by a tool that is not dreamcli): all of it is unreviewed
            keep_current = not live_damaged
            if not live_damaged:
                hand_edited = True
                hand_edit = compare(name, version_before, "", current, unkept=True)
        elif recorded != current:
            hand_edited = True
            hand_edit = None if live_damaged else compare(name, version_before, recorded, current)
    known = history_versions(ws, name)
    updated_before = pb.updated
    pb.version = max([version_before, *known]) + 1
    pb.updated = now_seconds()
    text = render_playbook(pb)
    try:
        check_round_trip(pb, text, file=str(live))
    except InputError:
        pb.version, pb.updated = version_before, updated_before
        raise
    commit = Commit(name=name, version_before=version_before, version_after=pb.version,
                    hash_before=content_hash(current), hash_after=content_hash(text) or "",
                    text_after=text, hand_edited=hand_edited, hand_edit=hand_edit)
    if before_write is not None:
        before_write(commit)
    if keep_current and current is not None:
        atomic_write_text(history_path(ws, name, version_before), current)
    atomic_write_text(history_path(ws, name, pb.version), text)
    crashpoint("commit.history")
    atomic_write_text(live, text)
    crashpoint("commit.live")
    return commit
