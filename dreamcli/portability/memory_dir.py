"""The `memory-dir` export: small markdown files and an index, laid out like a memory store
(`<dir>/memories/…`, what the memory tool sees as `/memories/`).

    memories/index.md                         what is where (read this first)
    memories/<playbook>/<section>.md          one file per section (split when long)
"""

from __future__ import annotations

import re

from dreamcli import __version__
from dreamcli.playbooks import Entry
from dreamcli.portability.select import Selected

MAX_FILE_CHARS = 4000  # keep each file small: an agent views a handful, not one big document
_SLUG = re.compile(r"[^a-z0-9]+")


def slug(title: str | None) -> str:
    s = _SLUG.sub("-", (title or "general").lower()).strip("-")
    return s[:60] or "general"


def _entry_md(e: Entry) -> str:
    lines = e.text.split("\n")
    body = "- " + lines[0] + "".join(f"\n  {ln}" for ln in lines[1:])
    return body + f"\n  <!-- id={e.id} helpful={e.helpful} harmful={e.harmful} -->\n"


def _chunks(entries: list[Entry]) -> list[list[str]]:
    """The entries of one section as markdown, in files of at most MAX_FILE_CHARS (one entry may exceed it)."""
    chunks: list[list[str]] = [[]]
    size = 0
    for e in entries:
        md = _entry_md(e)
        if chunks[-1] and size + len(md) > MAX_FILE_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(md)
        size += len(md)
    return chunks


def _names(base: str, parts: int, taken: set[str]) -> list[str]:
    """File names for a section in `parts` files (`foo.md`, or `foo-1.md`, `foo-2.md` …), none of them in
    `taken` (which they are added to): the names of the files already written are checked, not the section
    slugs, as a section "Foo 1" would otherwise take the `foo-1.md` of a split section "Foo"."""
    while True:
        names = [f"{base}.md"] if parts == 1 else [f"{base}-{i + 1}.md" for i in range(parts)]
        if not taken.intersection(names):
            taken.update(names)
            return names
        base += "-x"


def render_memory_dir(selected: list[Selected], *, created: str) -> dict[str, bytes]:
    """{relative path: bytes} of the memory directory."""
    files: dict[str, bytes] = {}
    index = [
        "# Memory index",
        "",
        f"Approved playbooks as of {created}, exported by dreamcli {__version__}. Each file holds the lessons "
        "of one playbook section; open the ones that fit the task.",
        "",
    ]
    for sel in selected:
        pb = sel.playbook
        index.append(f"## {pb.name} (v{pb.version})")
        if pb.description:
            index.append("")
            index.append(pb.description.strip())
        index.append("")
        by_section: dict[str | None, list[Entry]] = {}
        for e in pb.entries():
            by_section.setdefault(e.section, []).append(e)
        taken: set[str] = set()  # the file names written for this playbook: each one is unique
        for title, entries in by_section.items():
            chunks = _chunks(entries)
            names = _names(slug(title), len(chunks), taken)
            for i, (name, chunk) in enumerate(zip(names, chunks, strict=True)):
                rel = f"memories/{pb.name}/{name}"
                part = "" if len(chunks) == 1 else f" (part {i + 1} of {len(chunks)})"
                head = f"# {pb.name}: {title or 'General'}{part}\n\n"
                files[rel] = (head + "\n".join(chunk)).encode("utf-8")
                index.append(f"- `/{rel}` — {title or 'General'}{part}: {len(chunk)} "
                             f"entr{'y' if len(chunk) == 1 else 'ies'}")
        index.append("")
    files["memories/index.md"] = ("\n".join(index).rstrip("\n") + "\n").encode("utf-8")
    return files
