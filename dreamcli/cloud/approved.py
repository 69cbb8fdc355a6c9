"""What may be pushed to a memory store: the live (approved) playbook rendered as memory files, and the
approved entries of the cloud dreams of that store (`dreams/<id>/` with `cloud.input_store`). Pending
and rejected entries are never pushed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dreamcli.cloud.state import sha256_text, tool_to_cloud_path
from dreamcli.playbooks import list_playbook_names
from dreamcli.playbooks.proposals import load_dream
from dreamcli.playbooks.vetting import Vetting
from dreamcli.portability.memory_dir import render_memory_dir
from dreamcli.portability.select import select_playbooks
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.playbooks.proposal_model import Operation

PLAYBOOK_PREFIX = "/playbooks/"
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Wanted:
    """One memory the push wants: `content` None means delete it."""

    path: str
    content: str | None
    source: str  # "playbook:<name>" or "dream:<dream id>:<entry id>"
    # a cloud-dream entry: the content_sha256 the dream read at this path ("" none), its precondition;
    # None: not known (a playbook file, a proposal made before dreamcli kept it): the hash last pulled
    base: str | None = None


@dataclass
class Skipped:
    """An approved cloud-dream entry the push leaves out, as vetting refused it. Every field is redacted:
    the path (or a merged path) is what the rules call secret, so it is shown only as a marker."""

    dream_id: str
    entry_id: str
    path: str  # the memory path, redacted
    reason: str  # vetting's refusal, redacted
    # SHA-256 of what the push would send, all redacted: a push remembers it (the state's `skipped`), so
    # a later push reports the entry as still skipped instead of failing again, until that changes
    digest: str = ""

    @property
    def source(self) -> str:
        return f"dream:{self.dream_id}:{self.entry_id}"

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "dream_id": self.dream_id, "entry_id": self.entry_id, "path": self.path,
                "reason": self.reason}


def playbook_prefix(name: str) -> str:
    return f"{PLAYBOOK_PREFIX}{name}/"


def playbook_files(ws: Workspace, name: str) -> dict[str, str] | None:
    """The live playbook `name` as memory files: cloud path -> content (deterministic, no timestamp);
    None when there is no such playbook."""
    if name not in list_playbook_names(ws):
        return None
    selected = select_playbooks(ws, [name])
    files = render_memory_dir(selected, created="")
    prefix = f"memories/{name}/"
    return {playbook_prefix(name) + rel[len(prefix):]: data.decode("utf-8")
            for rel, data in sorted(files.items()) if rel.startswith(prefix)}


def cloud_dream_ids(ws: Workspace, store_id: str) -> list[str]:
    """Local proposals made from cloud dreams over `store_id`, oldest first."""
    found: list[tuple[str, str]] = []
    if not ws.dreams_dir.is_dir():
        return []
    for d in sorted(ws.dreams_dir.iterdir()):
        if d.name.startswith(".") or not (d / "dream.json").is_file():
            continue
        try:
            info = json.loads((d / "dream.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        cloud = info.get("cloud") if isinstance(info, dict) else None
        if isinstance(cloud, dict) and cloud.get("input_store") == store_id:
            found.append((str(info.get("created") or ""), d.name))
    return [name for _, name in sorted(found)]


def approved_dream_entries(ws: Workspace, store_id: str, already: set[str]) -> tuple[list[Wanted], list[Skipped]]:
    """The approved memory operations of the store's cloud dreams, not pushed before, as approval applies
    them (`Vetting.op`: text redacted with the workspace's current rules); one whose path or merged paths
    those rules now call secret is never pushed (no memory is named after a secret): it is returned as
    `Skipped`, with vetting's reason, for the push to report."""
    out: list[Wanted] = []
    skipped: list[Skipped] = []
    vet = Vetting.of(ws)
    for dream_id in cloud_dream_ids(ws, store_id):
        dream = load_dream(ws, dream_id)
        bases = base_hashes(dream.info)
        for given in dream.proposal.operations:
            key = f"{dream.dream_id}:{given.entry_id}"
            if given.target != "memory" or dream.decision(given.entry_id).action != "approve" or key in already:
                continue
            vetted = vet.op(dream, given)
            if vetted.refused is not None:
                entry = vet.redact(given.entry_id)
                skipped.append(Skipped(dream.dream_id, entry, tool_to_cloud_path(vetted.op.path or ""),
                                       _pushable_reason(vetted.refused), _digest(dream.dream_id, entry, vetted.op)))
                continue
            op = vetted.op
            source = f"dream:{key}"
            path = tool_to_cloud_path(op.path or "")
            if op.op == "retire":
                out.append(Wanted(path, None, source, bases.get(path)))
                continue
            out.append(Wanted(path, op.text or "", source, bases.get(path)))
            out.extend(Wanted(q, None, source, bases.get(q)) for q in map(tool_to_cloud_path, op.merged_paths))
    return out, skipped


def _digest(dream_id: str, entry_id: str, op: Operation) -> str:
    """What a refused entry would push (the vetted operation: every value redacted, so the state holds no
    secret, not even hashed), as one hash: the same entry with the same content has the same digest."""
    shape = [dream_id, entry_id, op.op, op.path, op.text, list(op.merged_paths), list(op.merged_ids)]
    return sha256_text(json.dumps(shape, ensure_ascii=False))


def _pushable_reason(refused: str) -> str:
    """Vetting's refusal without its advice to reject the entry: an approved entry is not rejected (it is
    undone with `playbooks revert`)."""
    return refused.removesuffix("; reject it")


def base_hashes(info: dict[str, Any]) -> dict[str, str]:
    """`dream.json` `cloud.base_sha256`: cloud path -> the content_sha256 the cloud dream read ("" when
    there was no memory); what is not a hash is left out (then the hash last pulled is the precondition)."""
    cloud = info.get("cloud")
    bases = cloud.get("base_sha256") if isinstance(cloud, dict) else None
    if not isinstance(bases, dict):
        return {}
    return {p: h or "" for p, h in bases.items()
            if isinstance(p, str) and (h is None or (isinstance(h, str) and _SHA256.fullmatch(h)))}
