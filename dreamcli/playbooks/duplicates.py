"""Duplicate live entries: two entries of one playbook that say the same thing (whitespace, line
wrapping and letter case ignored). Approve never adds one (`apply`), and `playbooks lint` reports any
already there (a hand edit, an import, or a playbook from before this check)."""

from __future__ import annotations

from collections.abc import Iterable

from dreamcli.playbooks.model import Entry, Playbook


def text_key(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def find_same_text(entries: Iterable[Entry], text: str, *, other_than: str | None = None) -> Entry | None:
    key = text_key(text)
    for entry in entries:
        if entry.id != other_than and text_key(entry.text) == key:
            return entry
    return None


def duplicate_entries(pb: Playbook) -> list[tuple[Entry, Entry]]:
    """(duplicate, the first entry with its text), in file order."""
    first: dict[str, Entry] = {}
    out = []
    for entry in pb.entries():
        key = text_key(entry.text)
        if key in first:
            out.append((entry, first[key]))
        else:
            first[key] = entry
    return out
