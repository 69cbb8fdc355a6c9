"""The playbooks of a bundle, read without trusting them: each live file and each history version
(`playbooks/.history/<name>/v<N>.md`, N in ASCII digits) must be UTF-8 and parse as the playbook the
manifest names, and secrets are redacted (built-in rules plus the workspace's `redaction.patterns`)
before anything is written or shown, as an approved or edited entry is. A clean file is kept byte
for byte; a file whose secret cannot be replaced in place (one that would break its front matter)
refuses the bundle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dreamcli.errors import InputError
from dreamcli.playbooks import Playbook, parse_playbook
from dreamcli.playbooks.frontmatter import MAX_VERSION
from dreamcli.playbooks.store import HISTORY_DIGITS, HISTORY_FILE_RE, check_name
from dreamcli.portability.manifest import MANIFEST
from dreamcli.redaction import Redactor

HISTORY = "playbooks/.history/"


@dataclass
class Incoming:
    name: str
    raw: bytes  # redacted: what goes live
    playbook: Playbook
    history: dict[int, bytes]  # redacted
    redacted: int = 0  # files (live and history) in which secrets were replaced


def _trusted(raw: bytes, name: str, member: str, redactor: Redactor) -> tuple[bytes, Playbook, bool]:
    """The member's bytes with secrets redacted, the playbook they parse to, and whether anything was
    redacted. InputError naming the member when it is not UTF-8 or not the playbook `name`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError("not UTF-8 text", file=member, line=raw[: e.start].count(b"\n") + 1) from None
    clean = redactor.redact_text(text)
    redacted = clean != text
    try:
        pb = parse_playbook(clean, file=member)
    except InputError:
        if redacted:  # the parser's message could quote the secret: say only what happened
            raise InputError("holds what looks like a secret where it cannot be redacted in place (in its "
                             "front matter or metadata); remove it and export again", file=member) from None
        raise
    if pb.name != name:
        raise InputError(f"front matter names playbook {pb.name!r}, the manifest {name!r}", file=member,
                         field="name")
    return (clean.encode("utf-8") if redacted else raw), pb, redacted


def _leaves_room(version: int, member: str, raw: bytes) -> None:
    """InputError naming the member when its version leaves no room for a later one: the next change to the
    playbook (an approve, an import, a revert) is a version above every kept one, and a version has at most
    VERSION_DIGITS digits, so a bundle at MAX_VERSION would leave the playbook that nothing can change."""
    if version < MAX_VERSION:
        return
    lines = raw.split(b"\n")
    line = next((i + 1 for i, text in enumerate(lines) if text.startswith(b"version:")), None)
    raise InputError(f"{version} leaves no room for a later version (a bundle's versions must be below "
                     f"{MAX_VERSION}, the largest a playbook can have); nothing was imported", file=member,
                     line=line, field="version")


def incoming_playbooks(manifest: dict[str, Any], files: dict[str, Path], where: str,
                       redactor: Redactor) -> list[Incoming]:
    """Every playbook the (verified) manifest lists, with its history, checked and redacted."""
    out = []
    for entry in manifest["playbooks"]:
        name = check_name(entry["name"])
        member = f"{where}/{entry['path']}"
        raw, pb, redacted = _trusted(files[entry["path"]].read_bytes(), name, member, redactor)
        _leaves_room(pb.version, member, raw)
        inc = Incoming(name, raw, pb, {}, int(redacted))
        prefix = f"{HISTORY}{name}/"
        for rel in sorted(files):
            if not rel.startswith(prefix):
                continue
            m = HISTORY_FILE_RE.fullmatch(rel[len(prefix):])
            if m is None:
                raise InputError(f"{rel} is not a history version (v<N>.md: N in ASCII digits, at most "
                                 f"{HISTORY_DIGITS}, no leading zero)", file=where)
            data, _pb, redacted = _trusted(files[rel].read_bytes(), name, f"{where}/{rel}", redactor)
            _leaves_room(int(m.group(1)), f"{where}/{rel}", data)
            inc.history[int(m.group(1))] = data
            inc.redacted += redacted
        out.append(inc)
    if len({i.name for i in out}) != len(out):
        raise InputError("the manifest lists a playbook twice", file=f"{where}/{MANIFEST}", field="playbooks")
    return out
