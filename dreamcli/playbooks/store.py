"""Playbooks in a workspace: `playbooks/<name>.md` (live) and `playbooks/.history/<name>/v<N>.md`."""

from __future__ import annotations

import re
from pathlib import Path

from dreamcli.errors import InputError, UsageError
from dreamcli.playbooks.format import parse_playbook
from dreamcli.playbooks.model import Playbook
from dreamcli.workspace.home import Workspace

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(name: str) -> str:
    if not NAME_RE.match(name or "") or name.endswith(".md"):
        raise UsageError(f"invalid playbook name {name!r} (letters, digits, '.', '_', '-'; no path)")
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
    path = playbook_path(ws, name)
    text = read_text(path)
    if text is None:
        return None
    return parse_playbook(text, file=str(path))


def list_playbook_names(ws: Workspace) -> list[str]:
    """Names of the live playbooks, sorted."""
    d = ws.playbooks_dir
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.glob("*.md") if p.is_file() and NAME_RE.match(p.stem))
