"""Parse and render playbooks (docs/playbook-format.md).

`render_playbook(parse_playbook(text)) == text` for every file this accepts: untouched lines and
entries are written back exactly as read. A malformed file raises `InputError` with its line and the
reason; it is never silently rewritten.
"""

from __future__ import annotations

import re

from dreamcli.errors import InputError
from dreamcli.playbooks.frontmatter import parse_front_matter, render_front_matter
from dreamcli.playbooks.model import (
    ID_RE,
    MAX_SOURCES,
    Entry,
    Playbook,
    estimate_tokens,
    heading_title,
    text_matches,
)

_ENTRY_START = re.compile(r"^- \[([^\]\s]*)\](?: (.*))?$")
_ID_LIKE = re.compile(r"^[A-Za-z0-9_]+-[A-Za-z0-9_-]+$")
_META_START = "<!-- dc:"
_META_END = "-->"
_INT_KEYS = ("helpful", "harmful")
_KNOWN_KEYS = ("helpful", "harmful", "sources", "first", "last")
_COUNT = re.compile(r"[0-9]{1,18}")  # helpful=, harmful=: an int64, never Python's 4300-digit limit
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def split_lines(text: str) -> list[str]:
    """Lines with their endings (only `\\n` splits; `\\r\\n` stays at the end of its line)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _content(line: str) -> str:
    return line.rstrip("\n").rstrip("\r")


def parse_playbook(text: str, file: str | None = None) -> Playbook:
    """Parse a playbook; raise InputError(file, line, reason) when it is malformed."""
    if text.startswith("\ufeff"):
        raise InputError("starts with a byte-order mark; save the file as plain UTF-8", file=file, line=1)
    lines = split_lines(text)
    if not lines or _content(lines[0]) != "---":
        raise InputError("expected YAML front matter starting with a '---' line", file=file, line=1)
    close = next((i for i in range(1, len(lines)) if _content(lines[i]) == "---"), None)
    if close is None:
        raise InputError("front matter is not closed with a '---' line", file=file, line=1)
    meta = parse_front_matter(lines[1:close], file=file, first_line=2)
    pb = Playbook(meta=meta, file=file, fm_lines=lines[: close + 1], fm_original=_deep_copy(meta))
    _parse_body(pb, lines, close + 1, file)
    return pb


def _deep_copy(meta: dict) -> dict:
    import copy

    return copy.deepcopy(meta)


def _parse_body(pb: Playbook, lines: list[str], start: int, file: str | None) -> None:
    section: str | None = None
    in_fence: str | None = None
    seen: dict[str, int] = {}
    i = start
    n = len(lines)
    while i < n:
        line = lines[i]
        content = _content(line)
        fence = _FENCE.match(content)
        if in_fence is not None:
            if fence and fence.group(1) == in_fence:
                in_fence = None
            pb.body.append(line)
            i += 1
            continue
        if fence:
            in_fence = fence.group(1)
            pb.body.append(line)
            i += 1
            continue
        if content == "##" or content.startswith("## "):
            section = heading_title(line)
            pb.body.append(line)
            i += 1
            continue
        m = _ENTRY_START.match(content)
        if m and (ID_RE.fullmatch(m.group(1)) or _ID_LIKE.match(m.group(1))):
            entry_id = m.group(1)
            if not ID_RE.fullmatch(entry_id):
                raise InputError(f"invalid entry id [{entry_id}] (expected e.g. pb-3f9k2xab: "
                                 "2-4 lowercase letters, '-', 6-12 lowercase letters or digits)",
                                 file=file, line=i + 1)
            if entry_id in seen:
                raise InputError(f"duplicate entry id {entry_id} (first on line {seen[entry_id]})",
                                 file=file, line=i + 1)
            seen[entry_id] = i + 1
            end = i + 1
            while end < n and lines[end].startswith("  ") and lines[end].strip():
                end += 1
            entry = _parse_entry(lines, i, end, m.group(2) or "", section, file)
            entry.mark_clean("".join(lines[i:end]))
            pb.body.append(entry)
            i = end
            continue
        if content.lstrip().startswith(_META_START):
            raise InputError("metadata comment '<!-- dc: ... -->' outside an entry (it must be the last "
                             "line of a '- [ID] text' bullet, indented by two spaces)", file=file, line=i + 1)
        pb.body.append(line)
        i += 1


def _parse_entry(lines: list[str], start: int, end: int, first_text: str, section: str | None,
                 file: str | None) -> Entry:
    text_lines = [first_text.rstrip()] if first_text.strip() else []
    meta: dict[str, str] | None = None
    for j in range(start + 1, end):
        cont = _content(lines[j])[2:]
        if cont.lstrip().startswith(_META_START):
            if j != end - 1:
                raise InputError("the metadata comment must be the entry's last line", file=file, line=j + 1)
            meta = _parse_meta(cont.strip(), file, j + 1)
        else:
            text_lines.append(cont.rstrip())
    if not text_lines:
        raise InputError("entry has no text", file=file, line=start + 1)
    entry_id = _ENTRY_START.match(_content(lines[start])).group(1)  # type: ignore[union-attr]
    entry = Entry(id=entry_id, text="\n".join(text_lines), section=section)
    if meta:
        entry.helpful = int(meta.pop("helpful", "0"))
        entry.harmful = int(meta.pop("harmful", "0"))
        sources = meta.pop("sources", "")
        entry.sources = [s for s in sources.split(",") if s]
        entry.first_seen = meta.pop("first", None) or None
        entry.last_seen = meta.pop("last", None) or None
        entry.extra = meta
    return entry


def _parse_meta(comment: str, file: str | None, line: int) -> dict[str, str]:
    if not comment.endswith(_META_END):
        raise InputError("metadata comment is not closed with '-->' on the same line", file=file, line=line)
    inner = comment[len(_META_START): -len(_META_END)]
    out: dict[str, str] = {}
    for token in inner.split():
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise InputError(f"bad metadata {token!r} (expected key=value)", file=file, line=line)
        if key in out:
            raise InputError(f"metadata key {key!r} appears twice", file=file, line=line)
        if key in _INT_KEYS and not _COUNT.fullmatch(value):  # ASCII digits: `²` is a digit to isdigit()
            raise InputError(f"metadata {key} must be a non-negative integer of at most 18 digits, got "
                             f"{value[:40]!r}", file=file, line=line)
        out[key] = value
    return out


# --- what an entry may say ------------------------------------------------------------------------

def entry_text_problem(text: str) -> str | None:
    """Why `text` cannot be an entry's text, or None when it can.

    A line starting with `<!-- dc:` would be read back as the entry's metadata comment (and the file
    would not parse), so it is refused. Everything else round-trips: continuation lines are indented
    by two spaces, so text lines that look like `- [id] ...` bullets, `## ` headings or code fences
    stay part of the entry."""
    for n, line in enumerate(str(text).split("\n"), 1):
        if line.strip().startswith(_META_START):
            return (f"line {n} of the entry text starts with '{_META_START}', which marks an entry's "
                    "metadata comment; reword it (e.g. put it in backticks)")
    return None


def section_problem(section: str | None) -> str | None:
    """Why `section` cannot be a `## ` heading title, or None when it can (one line)."""
    if section is not None and ("\n" in section or "\r" in section):
        return f"section title {section!r} spans several lines; a section is one '## ' heading line"
    return None


def check_round_trip(pb: Playbook, text: str, file: str | None = None) -> None:
    """Raise InputError unless `text` (the rendering of `pb`) parses back to the same entries."""
    where = f"refusing to write playbook {pb.name}"
    try:
        back = parse_playbook(text, file=file)
    except InputError as e:
        raise InputError(f"{where}: the new version would not parse back ({e})") from None
    mine = pb.entries()
    theirs = back.entries()
    if [e.id for e in mine] != [e.id for e in theirs]:
        raise InputError(f"{where}: the new version would read back with entries "
                         f"{[e.id for e in theirs]} instead of {[e.id for e in mine]}", file=file)
    for a, b in zip(mine, theirs, strict=True):
        if not text_matches(a.text, b.text) or _meta_values(a) != _meta_values(b):
            raise InputError(f"{where}: entry {a.id} would not read back as written", file=file)


def _meta_values(e: Entry) -> tuple[object, ...]:
    return (e.helpful, e.harmful, [s for s in e.sources if s][:MAX_SOURCES], e.first_seen or None,
            e.last_seen or None, {k: v for k, v in e.extra.items() if k not in _KNOWN_KEYS})


# --- rendering ---------------------------------------------------------------------------------

def render_entry(entry: Entry) -> str:
    """The canonical lines of an entry (used for new and changed entries)."""
    text_lines = [ln.rstrip() for ln in entry.text.split("\n") if ln.strip()] or [""]
    out = [f"- [{entry.id}] {text_lines[0]}\n"]
    out.extend(f"  {ln}\n" for ln in text_lines[1:])
    out.append(f"  {render_meta(entry)}\n")
    return "".join(out)


def render_meta(entry: Entry) -> str:
    parts = [f"helpful={entry.helpful}", f"harmful={entry.harmful}"]
    sources = [s for s in entry.sources if s][:MAX_SOURCES]
    if sources:
        parts.append("sources=" + ",".join(sources))
    if entry.first_seen:
        parts.append(f"first={entry.first_seen}")
    if entry.last_seen:
        parts.append(f"last={entry.last_seen}")
    parts.extend(f"{k}={v}" for k, v in entry.extra.items() if k not in _KNOWN_KEYS)
    return f"{_META_START} {' '.join(parts)} {_META_END}"


def render_playbook(pb: Playbook) -> str:
    """The playbook as file text: unchanged parts byte for byte, changed entries re-rendered."""
    out: list[str] = [render_front_matter(pb.meta, pb.fm_original, pb.fm_lines)]
    for item in pb.body:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        if isinstance(item, Entry):
            out.append(item.raw if (item.raw is not None and not item.is_dirty()) else render_entry(item))
        else:
            out.append(item)
    return "".join(out)


def token_estimate(pb: Playbook) -> int:
    """Estimated tokens of the playbook as an agent reads it (the whole rendered file)."""
    return estimate_tokens(render_playbook(pb))
