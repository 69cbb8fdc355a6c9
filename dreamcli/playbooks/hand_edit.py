"""A hand edit: the live playbook differs from the kept version it says it is (`version:`), so a person (or
a program that is not dreamcli) changed it since dreamcli last wrote it.

A commit (`store.commit_playbook`) on top of such a file keeps what the edit did when it applies a change to
the live text (approve, a merging bundle import), or drops it when it replaces the text (revert, a replacing
import). Either way nobody reviewed that edit, so it is made visible: `compare` says which entries it
added, removed or changed (the commit's `hand_edit`), `record` is what the audit record keeps of it,
`to_json` what `--json` shows and `describe` the warning line. What it added is linted before the commit,
and the record's fields written, by dreamcli.playbooks.hand_edit_vet.

    hand = compare("legal", 3, kept_v3_text, live_text)   # None: the live text is v3 as kept
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from dreamcli.errors import InputError
from dreamcli.playbooks.format import parse_playbook
from dreamcli.playbooks.model import Entry, Playbook

SHOWN = 5  # ids named per kind in the warning line; the JSON and the record have them all


@dataclass(frozen=True)
class HandEdit:
    playbook: str
    from_version: int  # the kept version the live file says it is
    added: tuple[str, ...]  # entry ids, in the live file's order
    removed: tuple[str, ...]
    changed: tuple[str, ...]  # text, section or metadata differ
    new_texts: tuple[tuple[str, str], ...]  # (entry id, text) of every entry whose text the edit added or changed
    texts: tuple[str, str] = field(repr=False)  # the kept text and the live one it was compared with
    carried: bool = True  # the new version keeps the edit (approve, merge); False: it drops it (revert, replace)
    # lint findings on what the edit added (hand_edit_vet), as `revert_vetting.Flag.to_json` has them:
    forced: tuple[dict[str, Any], ...] = ()  # blocking, taken in with --force
    lint_warnings: tuple[dict[str, Any], ...] = ()
    unkept: bool = False  # no kept version at all: the playbook was made by hand, every entry is the edit's

    def to_json(self) -> dict[str, Any]:
        return {"from_version": self.from_version, "added": list(self.added), "removed": list(self.removed),
                "changed": list(self.changed), "carried": self.carried, "forced": list(self.forced),
                "lint_warnings": list(self.lint_warnings), "unkept": self.unkept}

    def record(self) -> dict[str, Any]:
        """The audit record's `hand_edit`: the ids, and what --force let in (entry ids; `forced_parts`)."""
        out: dict[str, Any] = {"from_version": self.from_version, "added": list(self.added),
                               "removed": list(self.removed), "changed": list(self.changed), "carried": self.carried}
        if self.unkept:
            out["unkept"] = True
        if any(f["part"] == "entry" for f in self.forced):
            out["forced"] = [f["entry_id"] for f in self.forced if f["part"] == "entry"]
        if any(f["part"] != "entry" for f in self.forced):
            out["forced_parts"] = [{k: f[k] for k in ("part", "heading") if k in f}
                                   for f in self.forced if f["part"] != "entry"]
        return out


def compare(name: str, from_version: int, recorded: str, live: str, *, unkept: bool = False) -> HandEdit | None:
    """What the live text changed in the kept version `from_version` (None: nothing). A kept text that does
    not parse counts as empty: every live entry is then new, and linted as such. `unkept`: no version is
    kept (`recorded` is ""), the whole live text is the edit."""
    if recorded == live:
        return None
    now = parse_playbook(live)
    was = kept_playbook(recorded)
    before = {e.id: e for e in was.entries()} if was is not None else {}
    after = {e.id: e for e in now.entries()}
    changed = tuple(i for i, e in after.items() if i in before and _state(e) != _state(before[i]))
    new_texts = tuple((i, e.text) for i, e in after.items() if i not in before or e.text != before[i].text)
    return HandEdit(name, from_version, added=tuple(i for i in after if i not in before),
                    removed=tuple(i for i in before if i not in after), changed=changed, new_texts=new_texts,
                    texts=(recorded, live), unkept=unkept)


def kept_playbook(text: str) -> Playbook | None:
    """The kept version the live file was edited from, or None when it does not parse."""
    try:
        return parse_playbook(text)
    except InputError:
        return None


def _state(e: Entry) -> tuple[Any, ...]:
    return (e.section, *e.state())


def dropped(hand: HandEdit | None) -> HandEdit | None:
    """`hand` as a commit that replaces the live text sees it: the new version does not keep it."""
    return None if hand is None else replace(hand, carried=False)


def describe(playbook: str, hand: dict[str, Any], version_after: int | None, action: str = "approve",
             kept: str | None = None) -> str:
    """The warning line for `hand` (`HandEdit.to_json`) on stderr: which playbook, since which version,
    which entries it added, removed and changed, and whether the new version keeps it; an edit dropped
    (revert, import --replace) names where its text was `kept` (`state/hand-edits/…`)."""
    what = []
    for kind in ("added", "removed", "changed"):
        ids = [str(i) for i in hand.get(kind) or []]
        if ids:
            what.append(f"{kind} {', '.join(ids[:SHOWN])}" + (f" +{len(ids) - SHOWN}" if len(ids) > SHOWN else ""))
    since = ("made by hand, with no kept version" if hand.get("unkept")
             else f"edited by hand since v{hand.get('from_version')}")
    edit = f"{since} ({'; '.join(what) or 'no entry changed'})"
    after = f"v{version_after}" if version_after is not None else "the new version"
    if hand.get("carried", True):
        fate = (f"this {action} takes that edit, which nobody proposed or reviewed, into {after} (audited as "
                "hand_edit)")
    elif hand.get("unkept"):  # the commit keeps the hand-made text as the version it says it is
        fate = f"this {action} drops it: {after} does not have it; its text is kept as v{hand.get('from_version')}"
    elif kept:
        fate = (f"this {action} drops that edit: {after} does not have it; the hand-edited text it dropped is "
                f"kept in {kept}")
    else:
        fate = f"this {action} drops that edit: {after} does not have it"
    return f"playbook {playbook} was {edit}; {fate}"


def lint_lines(playbook: str, hand: dict[str, Any]) -> list[str]:
    """One line per lint finding on the hand edit (`HandEdit.to_json`): forced ones, then warnings."""
    lines = []
    for label, key in (("forced", "forced"), ("lint warning in", "lint_warnings")):
        for f in hand.get(key) or []:
            part = f.get("part")
            where = (f"[{f.get('entry_id')}]" if part == "entry"
                     else f"section heading {str(f.get('heading'))!r}" if part == "section" else str(part))
            reason = "; ".join(f"{x.get('rule')}: {x.get('message')}" for x in f.get("findings") or [])
            lines.append(f"{label} the hand edit of {playbook} {where}: {reason}")
    return lines
