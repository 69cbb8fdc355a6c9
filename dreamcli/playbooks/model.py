"""The in-memory playbook: front matter, body lines and entries (docs/playbook-format.md).

A `Playbook` keeps every line of the file it came from. Lines that are not entries (title, section
headings, paragraphs, blank lines) are kept verbatim as strings; each entry is an `Entry` that
remembers its original lines, so rendering an unchanged playbook gives the same bytes and only
entries that really changed are re-rendered.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

ID_PATTERN = r"[a-z]{2,4}-[0-9a-z]{6,12}"
ID_RE = re.compile(ID_PATTERN)
MAX_SOURCES = 20
DEFAULT_SECTION = "General"


def estimate_tokens(text: str) -> int:
    """A cheap, model-independent token estimate (about four characters per token)."""
    return (len(text) + 3) // 4


def normalize_text(text: str) -> str:
    """Entry text as stored: no trailing spaces, no blank lines, no surrounding whitespace."""
    lines = [ln.rstrip() for ln in str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(ln for ln in lines if ln.strip()).strip()


def text_matches(a: str | None, b: str | None) -> bool:
    """Whether two entry texts say the same thing (whitespace and line wrapping ignored)."""
    if a is None or b is None:
        return a is b
    return " ".join(a.split()) == " ".join(b.split())


@dataclass
class Entry:
    """One playbook entry: a bullet `- [ID] text` plus its `<!-- dc: ... -->` metadata."""

    id: str
    text: str
    section: str | None = None
    helpful: int = 0
    harmful: int = 0
    sources: list[str] = field(default_factory=list)
    first_seen: str | None = None
    last_seen: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # unknown metadata keys, kept as written
    raw: str | None = field(default=None, compare=False, repr=False)  # lines as read from the file
    _snapshot: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)

    def state(self) -> tuple[Any, ...]:
        return (self.id, self.text, self.helpful, self.harmful, tuple(self.sources[:MAX_SOURCES]),
                self.first_seen, self.last_seen, tuple(self.extra.items()))

    def mark_clean(self, raw: str) -> None:
        self.raw = raw
        self._snapshot = self.state()

    def is_dirty(self) -> bool:
        return self.raw is None or self._snapshot != self.state()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "section": self.section, "helpful": self.helpful,
                "harmful": self.harmful, "sources": list(self.sources), "first_seen": self.first_seen,
                "last_seen": self.last_seen}


def _is_heading(line: str) -> bool:
    content = line.rstrip("\r\n")
    return content == "##" or content.startswith("## ")


def heading_title(line: str) -> str:
    return line.rstrip("\r\n")[2:].strip()


def _is_blank(item: str | Entry) -> bool:
    return isinstance(item, str) and not item.strip()


@dataclass(eq=False)
class Playbook:
    """A parsed playbook. `body` holds raw lines (str, with their line endings) and `Entry` objects."""

    meta: dict[str, Any]
    body: list[str | Entry] = field(default_factory=list)
    file: str | None = None
    # how the front matter was written, to render it byte for byte when unchanged
    fm_lines: list[str] | None = field(default=None, repr=False)  # opening ---, yaml lines, closing ---
    fm_original: dict[str, Any] | None = field(default=None, repr=False)

    # --- front matter fields ------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.meta.get("name", ""))

    @name.setter
    def name(self, value: str) -> None:
        self.meta["name"] = value

    @property
    def version(self) -> int:
        return int(self.meta.get("version", 0))

    @version.setter
    def version(self, value: int) -> None:
        self.meta["version"] = int(value)

    @property
    def updated(self) -> str | None:
        value = self.meta.get("updated")
        return None if value is None else str(value)

    @updated.setter
    def updated(self, value: str | None) -> None:
        self.meta["updated"] = value

    @property
    def description(self) -> str:
        value = self.meta.get("description")
        return "" if value is None else str(value)

    @description.setter
    def description(self, value: str) -> None:
        self.meta["description"] = value

    @property
    def scope(self) -> dict[str, Any]:
        value = self.meta.get("scope")
        return value if isinstance(value, dict) else {}

    # --- entries ---------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        """All entries in file order."""
        return [item for item in self.body if isinstance(item, Entry)]

    def find(self, entry_id: str) -> Entry | None:
        for item in self.body:
            if isinstance(item, Entry) and item.id == entry_id:
                return item
        return None

    def ids(self) -> set[str]:
        return {e.id for e in self.entries()}

    @property
    def sections(self) -> list[str]:
        """Section titles (`##` headings) in file order."""
        return [heading_title(item) for item in self.body if isinstance(item, str) and _is_heading(item)]

    def copy(self) -> Playbook:
        return copy.deepcopy(self)

    # --- editing ---------------------------------------------------------------------------
    def add_entry(self, entry: Entry, section: str | None = None) -> Entry:
        """Insert `entry` at the end of `section` (created at the end of the file when missing)."""
        title = section if section is not None else (entry.section or DEFAULT_SECTION)
        entry.section = title
        last_in_section: int | None = None
        heading_at: int | None = None
        current: str | None = None
        for i, item in enumerate(self.body):
            if isinstance(item, str) and _is_heading(item):
                current = heading_title(item)
                if current == title:
                    heading_at = i
            elif isinstance(item, Entry) and current == title and heading_at is not None:
                last_in_section = i
        if last_in_section is not None:
            self.body.insert(last_in_section + 1, entry)
        elif heading_at is not None:
            pos = heading_at + 1
            if pos < len(self.body) and _is_blank(self.body[pos]):
                pos += 1
                self.body.insert(pos, entry)
                if pos + 1 < len(self.body) and not _is_blank(self.body[pos + 1]):
                    self.body.insert(pos + 1, "\n")
            else:
                self.body[pos:pos] = ["\n", entry, "\n"] if pos < len(self.body) else ["\n", entry]
        else:
            self._end_with_newline()
            if self.body and not _is_blank(self.body[-1]):
                self.body.append("\n")
            self.body.extend([f"## {title}\n", "\n", entry])
        return entry

    def add_entries(self, items: list[Entry]) -> None:
        """Insert many entries at the ends of their sections (`entry.section`) in one pass over the
        body; the same result as `add_entry` for each in turn (which is O(body) per call)."""
        by_section: dict[str, list[Entry]] = {}
        for entry in items:
            by_section.setdefault(entry.section or DEFAULT_SECTION, []).append(entry)
        heading: dict[str, int] = {}
        last_entry: dict[str, int] = {}
        current: str | None = None
        for i, item in enumerate(self.body):
            if isinstance(item, str):
                if _is_heading(item):
                    current = heading_title(item)
                    if current in by_section:
                        heading[current] = i
            elif current in heading:
                last_entry[current] = i
        n = len(self.body)
        after: dict[int, list[str | Entry]] = {}
        for title, entries in by_section.items():
            for entry in entries:
                entry.section = title
            if title in last_entry:
                after.setdefault(last_entry[title], []).extend(entries)
            elif title in heading:
                h = heading[title]
                if h + 1 < n and _is_blank(self.body[h + 1]):
                    tail: list[str | Entry] = ["\n"] if h + 2 < n and not _is_blank(self.body[h + 2]) else []
                    after.setdefault(h + 1, []).extend([*entries, *tail])
                else:
                    after.setdefault(h, []).extend(["\n", *entries, *(["\n"] if h + 1 < n else [])])
        if after:
            body: list[str | Entry] = []
            for i, item in enumerate(self.body):
                body.append(item)
                body.extend(after.get(i, ()))
            self.body = body
        for title, entries in by_section.items():
            if title not in heading:
                for entry in entries:
                    self.add_entry(entry, title)

    def _end_with_newline(self) -> None:
        if self.body and isinstance(self.body[-1], str) and not self.body[-1].endswith("\n"):
            self.body[-1] += "\n"


def new_playbook(name: str, *, description: str = "", scope: dict[str, Any] | None = None) -> Playbook:
    """An empty playbook (version 0: nothing approved yet)."""
    meta: dict[str, Any] = {"name": name, "version": 0, "updated": None, "description": description,
                            "scope": scope or {}}
    return Playbook(meta=meta, body=["\n", f"# {name}\n"])
