"""The bundle manifest (`manifest.json`): format version, dreamcli version, playbook versions, the sha256
of every file, provenance. Also the path rules every bundle member must follow."""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dreamcli import __version__
from dreamcli.errors import InputError

BUNDLE_FORMAT = "dreamcli-bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# What a bundle member's path may be: `dreamcli export` writes at most 5 levels (playbooks/history/NAME/vN.md,
# sessions/YYYY/MM/DD/ID.jsonl) with short names. The bounds refuse, before anything is written, a path the
# workspace's file system cannot hold (a name over 255 bytes) or one deep enough to exhaust what walks it.
MAX_MEMBER_DEPTH = 16
MAX_MEMBER_BYTES = 1024
MAX_PART_BYTES = 255


def safe_member_path(name: str, *, bundle: str) -> str:
    """A bundle member name as a clean relative POSIX path; InputError for anything that could land
    outside the target directory (absolute paths, `..`, drive letters, backslashes, NUL) and for a path
    that is not clean (an empty or `.` part but a leading `./`, which tar writes) or past the bounds above."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise InputError(f"invalid member name {_member(name)}", file=bundle)
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise InputError(f"member {_member(name)} has an absolute or Windows path (refused: it would escape the "
                         "target directory)", file=bundle)
    parts = name.split("/")
    while len(parts) > 1 and parts[0] == ".":  # `./manifest.json`, as `tar -C DIR .` names it
        parts.pop(0)
    if len(parts) > 1 and parts[-1] == "":  # a folder's trailing slash
        parts.pop()
    if any(p == ".." for p in parts):
        raise InputError(f"member {_member(name)} contains '..' (refused: it would escape the target directory)",
                         file=bundle)
    if any(p in ("", ".") for p in parts):
        raise InputError(f"invalid member name {_member(name)} (refused: an empty or '.' part)", file=bundle)
    if len(parts) > MAX_MEMBER_DEPTH:
        raise InputError(f"member {_member(name)} is {len(parts)} levels deep (refused: at most "
                         f"{MAX_MEMBER_DEPTH})", file=bundle)
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > MAX_MEMBER_BYTES or any(len(p.encode("utf-8", "surrogateescape")) > MAX_PART_BYTES for p in parts):
        raise InputError(f"member {_member(name)} has a name too long (refused: at most {MAX_PART_BYTES} bytes "
                         f"a name, {MAX_MEMBER_BYTES} the path)", file=bundle)
    return posixpath.join(*parts)


def _member(name: object, limit: int = 80) -> str:
    """A member name as an error shows it, escaped: a long one cut in the middle, with its length."""
    if not isinstance(name, str) or len(name) <= limit:
        return repr(name)
    return f"{name[:limit // 2] + '…' + name[-limit // 4:]!r} ({len(name)} characters)"


def build_manifest(files: dict[str, dict[str, Any]], playbooks: list[dict[str, Any]], *,
                   created: str, provenance: dict[str, Any], options: dict[str, Any],
                   sessions: list[str], missing_sessions: list[str]) -> dict[str, Any]:
    return {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "dreamcli_version": __version__,
        "created": created,
        "provenance": provenance,
        "options": options,
        "playbooks": playbooks,
        "sessions": sessions,
        "missing_sessions": missing_sessions,
        "files": {k: files[k] for k in sorted(files)},
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def parse_manifest(data: bytes, *, bundle: str) -> dict[str, Any]:
    where = f"{bundle}/{MANIFEST}"
    try:
        manifest = json.loads(data)
    except ValueError as err:
        raise InputError(f"not valid JSON ({err})", file=where) from None
    except RecursionError:
        raise InputError("JSON nested deeper than it can be read", file=where) from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise InputError(f"not a dreamcli bundle manifest (format must be {BUNDLE_FORMAT!r})", file=where,
                         field="format")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError("missing or invalid", file=where, field="format_version")
    if version > BUNDLE_VERSION:
        raise InputError(f"bundle format {_shown(version)} is newer than this dreamcli reads ({BUNDLE_VERSION}); "
                         "upgrade dreamcli", file=where, field="format_version")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in files.values()):
        raise InputError("must map every file to {sha256, bytes}", file=where, field="files")
    playbooks = manifest.get("playbooks")
    if not isinstance(playbooks, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("path"), str)
            for p in playbooks):
        raise InputError("must list the playbooks with name and path", file=where, field="playbooks")
    for name in files:
        if safe_member_path(name, bundle=where) != name:
            raise InputError(f"file name {name!r} is not a clean relative path", file=where, field="files")
    return manifest


def _shown(number: int, limit: int = 12) -> str:
    """A number from the file as an error echoes it: a long one cut, with its length."""
    text = str(number)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} digits)"


def verify_files(manifest: dict[str, Any], present: dict[str, Path], *, bundle: str) -> None:
    """Every listed file is present with its checksum; nothing unlisted is present."""
    listed: dict[str, dict[str, Any]] = manifest["files"]
    for name in sorted(listed):
        if name not in present:
            raise InputError(f"incomplete bundle: {name} is listed in {MANIFEST} but missing", file=bundle)
    for name in sorted(present):
        if name == MANIFEST:
            continue
        if name not in listed:
            raise InputError(f"{name} is not listed in {MANIFEST} (refused: the bundle was changed after "
                             "export)", file=bundle)
        if file_sha256(present[name]) != listed[name]["sha256"]:
            raise InputError(f"checksum mismatch for {name} (the file was changed or corrupted after export)",
                             file=bundle)
    for p in manifest["playbooks"]:
        if p["path"] not in listed:
            raise InputError(f"playbook {p['name']!r} points at {p['path']}, which is not in the bundle",
                             file=f"{bundle}/{MANIFEST}", field="playbooks")


SOURCE_FIELDS = {"provenance": ("workspace", "host", "actor", "tool"),
                 "last_change": ("action", "actor", "ts", "dream_id")}
SOURCE_CHARS = 200


def source_of(manifest: dict[str, Any], name: str, redact: Callable[[str], str]) -> dict[str, Any]:
    """`{"source": …}` (nothing when the manifest says nothing of it): where a bundle's playbook `name` comes
    from, for its import record: the exporting workspace, host and actor (`provenance`) and the playbook's last
    recorded change there (`last_change`: who approved it, when, from which dream), so that "who approved this
    entry?" has an answer once the bundle file is gone. The manifest is untrusted: only those string fields are
    kept, each cut to SOURCE_CHARS characters and redacted."""

    def kept(raw: object, keys: tuple[str, ...]) -> dict[str, str]:
        if not isinstance(raw, dict):
            return {}
        # redacted before the cut (a key across it stays whole to the redactor); the window bounds the work
        return {k: redact(raw[k][:SOURCE_CHARS * 4])[:SOURCE_CHARS] for k in keys if isinstance(raw.get(k), str)}

    entry = next((p for p in manifest.get("playbooks") or [] if isinstance(p, dict) and p.get("name") == name), {})
    out = {"provenance": kept(manifest.get("provenance"), SOURCE_FIELDS["provenance"]),
           "last_change": kept(entry.get("last_change"), SOURCE_FIELDS["last_change"])}
    source = {k: v for k, v in out.items() if v}
    return {"source": source} if source else {}
