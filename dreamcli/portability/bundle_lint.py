"""Lint for what a bundle would put in the workspace, with the rules `dreamcli dream` and `dreamcli
playbooks lint` use (`dreamcli.playbooks.lint`, `lint:` in config.yaml). A bundle is untrusted, and a
live playbook goes into the context of every run it matches.

Linted: the entries whose text would go live (merge: the entries the merge adds; replace, or a
playbook new here: every entry whose exact text is not live in that playbook already) and, for a
playbook new here, the entries of the older versions its bundle brings into `.history/`. Texts are
linted as they would be written (secrets already redacted, `bundle_playbooks`).

An entry with a block finding is refused unless `force`: left out of what goes live (replace: the
local entry of that id stays), and an older version holding one is not kept. A playbook new here left
with no entry is not added. Warn findings are reported only.

The description and the section headings (`prompt_parts`: a run's system prompt holds them too) are
linted where they would go live (a playbook new here or replace: those not live in that playbook already;
merge: the headings of new sections) and in the older versions a playbook new here brings. One with a
block finding cannot be left out as an entry can: the playbook is refused as a whole (`whole`; nothing
of it changes, a playbook new here is not added), unless `force`.

    vetted = vet_incoming(inc, live, "merge", config, force=False)
    vetted.incoming   # what may be imported
    vetted.refused    # [Flagged(entry_id, findings, live, history, part, heading)]
    vetted.whole      # a description or heading was refused: import nothing of this playbook
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from dreamcli.config import Config
from dreamcli.playbooks import Entry, Playbook, parse_playbook, render_playbook
from dreamcli.playbooks.lint import lint_entry_text, prompt_parts
from dreamcli.playbooks.proposal_model import BLOCK, LintFinding
from dreamcli.portability.bundle_playbooks import Incoming
from dreamcli.portability.merge import merge_into


@dataclass
class Flagged:
    """An entry of the bundle (or its description, a section heading: `part`) with lint findings: in its
    live version (`live`), in older versions."""

    entry_id: str | None  # None: not an entry
    findings: list[LintFinding]
    live: bool = False
    history: list[int] = field(default_factory=list)
    part: str = "entry"  # entry, description, section
    heading: str | None = None  # part "section": its title

    def reason(self) -> str:
        return "; ".join(f"{f.rule}: {f.message}" for f in self.findings)

    def where(self) -> str:
        """What was flagged, for one line: `[ID]`, `description`, `section heading 'TITLE'`."""
        if self.part == "entry":
            return f"[{self.entry_id}]"
        if self.part == "section":
            title = self.heading or ""
            shown = title if len(title) <= 120 else title[:119] + "…"
            return f"section heading {shown!r}"
        return self.part

    def to_json(self) -> dict[str, Any]:
        out = {"entry_id": self.entry_id, "part": self.part, "live": self.live, "history": list(self.history),
               "findings": [f.to_json() for f in self.findings]}
        return out | ({"heading": self.heading} if self.part == "section" else {})


@dataclass
class Vetted:
    incoming: Incoming
    refused: list[Flagged] = field(default_factory=list)  # left out
    forced: list[Flagged] = field(default_factory=list)  # blocked, imported with --force
    warnings: list[Flagged] = field(default_factory=list)  # warn findings only
    emptied: bool = False  # new here, and every entry was refused: nothing of it is imported
    whole: bool = False  # a description or heading was refused: nothing of this playbook is imported


def going_live(live: Playbook | None, incoming: Playbook, mode: str) -> list[Entry]:
    """The incoming entries whose text the import would make live."""
    if live is None:
        return incoming.entries()
    if mode == "merge":  # an entry both sides have keeps the local text; one with a local text is folded
        added = set(merge_into(live, incoming)[1].added)
        return [e for e in incoming.entries() if e.id in added]
    texts = {e.text for e in live.entries()}
    return [e for e in incoming.entries() if e.text not in texts]


def vet_incoming(inc: Incoming, live: Playbook | None, mode: str, config: Config, *, force: bool) -> Vetted:
    """Lint what `inc` would put in the workspace where `live` is the playbook now (None: new here)."""
    cache: dict[str, list[LintFinding]] = {}
    flagged: dict[tuple[str, str], Flagged] = {}

    def check(e: Entry) -> Flagged | None:
        if e.text not in cache:
            cache[e.text] = lint_entry_text(e.text, config)
        if not cache[e.text]:
            return None
        return flagged.setdefault((e.id, e.text), Flagged(e.id, cache[e.text]))

    blocked_live: set[str] = set()
    for e in going_live(live, inc.playbook, mode):
        if (f := check(e)) is not None:
            f.live = True
            if _blocks(f):
                blocked_live.add(e.id)
    bad_history: set[int] = set()
    if live is None:  # only a playbook new here takes the older versions its bundle brings
        for version, data in sorted(inc.history.items()):
            if version == inc.playbook.version:
                continue  # the live version's copy: written from the live file
            for e in parse_playbook(data.decode("utf-8")).entries():
                if (f := check(e)) is not None and _blocks(f):
                    f.history = sorted({*f.history, version})
                    bad_history.add(version)
    parts = _vet_parts(inc, live, mode, config)
    flags = [*parts, *flagged.values()]
    blocked = [f for f in flags if _blocks(f)]
    vetted = Vetted(inc, warnings=[f for f in flags if not _blocks(f)])
    if force or not blocked:
        vetted.forced = blocked
        return vetted
    vetted.refused = blocked
    if any(_blocks(f) for f in parts):
        vetted.whole = True
        return vetted
    vetted.incoming = _without(inc, live, blocked_live, bad_history, mode)
    vetted.emptied = live is None and bool(inc.playbook.entries()) and not vetted.incoming.playbook.entries()
    return vetted


def parts_going_live(live: Playbook | None, incoming: Playbook, mode: str) -> list[tuple[str, str]]:
    """The description and section headings (`prompt_parts`) the import would make live."""
    # merge: the local description stays, the sections of the entries it adds may be new
    result = merge_into(live, incoming)[0] if live is not None and mode == "merge" else incoming
    now = set(prompt_parts(live)) if live is not None else set()
    return [p for p in prompt_parts(result) if p not in now]


def _vet_parts(inc: Incoming, live: Playbook | None, mode: str, config: Config) -> list[Flagged]:
    """Lint findings of the description and section headings going live, and (a playbook new here) of
    those of the older versions its bundle brings."""
    cache: dict[tuple[str, str], list[LintFinding]] = {}
    flagged: dict[tuple[str, str], Flagged] = {}

    def check(part: str, text: str) -> Flagged | None:
        if (part, text) not in cache:
            cache[(part, text)] = lint_entry_text(text, config)
        if not cache[(part, text)]:
            return None
        heading = text if part == "section" else None
        return flagged.setdefault((part, text), Flagged(None, cache[(part, text)], part=part, heading=heading))

    for part, text in parts_going_live(live, inc.playbook, mode):
        if (f := check(part, text)) is not None:
            f.live = True
    if live is None:
        for version, data in sorted(inc.history.items()):
            if version != inc.playbook.version:
                for part, text in prompt_parts(parse_playbook(data.decode("utf-8"))):
                    if (f := check(part, text)) is not None:
                        f.history = sorted({*f.history, version})
    return list(flagged.values())


def _blocks(f: Flagged) -> bool:
    return any(x.severity == BLOCK for x in f.findings)


def _without(inc: Incoming, live: Playbook | None, entry_ids: set[str], versions: set[int],
             mode: str) -> Incoming:
    """`inc` without the refused entries (replace: the local entry of the id in their place) and the older
    versions that hold one."""
    history = {v: data for v, data in inc.history.items() if v not in versions}
    if not entry_ids:
        return Incoming(inc.name, inc.raw, inc.playbook, history, inc.redacted)
    pb = inc.playbook.copy()
    body: list[str | Entry] = []
    local: dict[str, Entry] = {}  # the live entries by id (the first of each, as `find` gives it)
    for e in live.entries() if live is not None and mode == "replace" else []:
        local.setdefault(e.id, e)
    for item in pb.body:
        if isinstance(item, Entry) and item.id in entry_ids:
            mine = local.get(item.id)
            if mine is not None:
                body.append(copy.deepcopy(mine))
            continue
        body.append(item)
    pb.body = body
    return Incoming(inc.name, render_playbook(pb).encode("utf-8"), pb, history, inc.redacted)
