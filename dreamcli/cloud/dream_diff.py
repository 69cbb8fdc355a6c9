"""A completed cloud dream as an ordinary local proposal: the difference between its output store and
its input store becomes memory operations (`create`, `update`, `retire`) on the local mirror of the
input store, each with the cloud dream id as evidence, written to `dreams/<id>/` like any dream."""

from __future__ import annotations

import hashlib
from typing import Any

from dreamcli.cloud.memory_pull import CloudMemory
from dreamcli.cloud.state import cloud_to_tool_path, tool_to_cloud_path
from dreamcli.dream.proposal import write_dream
from dreamcli.ids import new_ulid
from dreamcli.playbooks.proposal_model import Evidence, Operation, Proposal
from dreamcli.redaction import Redactor
from dreamcli.timeutil import now_rfc3339
from dreamcli.workspace.home import Workspace

KIND = "cloud_dream"


def entry_id(cloud_dream_id: str, path: str) -> str:
    return "mem-" + hashlib.sha256(f"{cloud_dream_id}\0{path}".encode()).hexdigest()[:10]


def _same(a: CloudMemory | None, b: CloudMemory | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a.sha256 == b.sha256)


def diff_operations(before: dict[str, CloudMemory], after: dict[str, CloudMemory], cloud_dream_id: str,
                    redactor: Redactor, now: dict[str, CloudMemory] | None = None) -> list[Operation]:
    """Adds, edits and removals from `before` (the input store when the dream started) to `after` (the
    output store), by path. With `now` (the input store when the dream completed), a path where the
    cloud already holds what the dream left is no operation (an agent wrote it while the dream ran, and
    the dream read that), and one that changed since `before` says so (approving it then conflicts). A memory
    whose path holds a secret is left out, as a pull leaves it out of the mirror."""
    ops: list[Operation] = []
    evidence = [Evidence(excerpt=f"cloud dream {cloud_dream_id}")]
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if _same(old, new) or (now is not None and _same(new, now.get(path))):
            continue
        if redactor.redact_text(path) != path:  # a path holding a secret: never shown, proposed or pushed
            continue  # (a pull does not mirror it either, dreamcli.cloud.memory_pull)
        moved = now is not None and not _same(old, now.get(path))
        old_text = redactor.redact_text(old.content or "") if old is not None else None
        new_text = redactor.redact_text(new.content or "") if new is not None else None
        op: str | None
        if new is None:
            op, reason = "retire", f"cloud dream {cloud_dream_id} removed this memory"
        elif old is None:
            op, reason = "create", f"cloud dream {cloud_dream_id} wrote this memory"
        else:
            op, reason = "update", f"cloud dream {cloud_dream_id} rewrote this memory"
        if op != "retire" and not (new_text or "").strip():
            op, reason = ("retire", f"cloud dream {cloud_dream_id} emptied this memory") if old else (None, "")
        if op is None:
            continue
        if moved:
            reason += "; the memory changed in the cloud after the dream read it"
        ops.append(Operation(entry_id=entry_id(cloud_dream_id, path), target="memory", op=op,
                             path=cloud_to_tool_path(path), text=new_text if op != "retire" else None,
                             old_text=old_text, reason=reason, kind=KIND, evidence=evidence))
    return ops


def base_hashes(before: dict[str, CloudMemory], ops: list[Operation]) -> dict[str, str | None]:
    """For each operation's memory (by the cloud path a push reads from the proposal): the
    content_sha256 the dream read, None when there was none: the push's precondition."""
    read = {cloud_to_tool_path(p): m for p, m in before.items()}
    out: dict[str, str | None] = {}
    for o in ops:
        for path in (o.path or "", *o.merged_paths):
            m = read.get(path)
            out[tool_to_cloud_path(path)] = m.sha256 if m is not None else None
    return out


def write_cloud_proposal(ws: Workspace, *, cloud_dream: dict[str, Any], store_id: str, output_store: str,
                         session_ids: list[str], ops: list[Operation], playbook: str,
                         note: str | None = None, base_sha256: dict[str, str | None] | None = None,
                         refused: str | None = None) -> str:
    """Write `dreams/<new id>/` for one completed cloud dream; returns the local dream id. `base_sha256`
    (cloud path -> hash the dream read, None for none) becomes `cloud.base_sha256`: a push sends those
    hashes as preconditions, so what changed in the cloud after the dream read it is a conflict.
    `refused`: why its output store could not be used (no operations then): `cloud.refused`."""
    dream_id = new_ulid()
    created = now_rfc3339()
    proposal = Proposal(dream_id=dream_id, created=created, playbook=playbook, memory_store=store_id,
                        operations=ops)
    usage = dict(cloud_dream.get("usage") or {})
    model = (cloud_dream.get("model") or {}).get("id")
    cloud = {"dream_id": cloud_dream["id"], "input_store": store_id, "output_store": output_store,
             "session_ids": session_ids, "model": model, "status": cloud_dream.get("status"),
             "session_id": cloud_dream.get("session_id"), "base_sha256": dict(base_sha256 or {})}
    if refused is not None:
        cloud["refused"] = refused
    info = {"v": 1, "dream_id": dream_id, "status": "pending" if ops else "empty", "created": created,
            "playbook": playbook, "memory_store": store_id,
            "inputs": {"sessions": len(session_ids), "selection": "cloud"},
            "usage": {**usage, "model": model}, "stats": {"operations": len(ops)}, "offline": False,
            "instructions": cloud_dream.get("instructions"), "source": "managed-agents", "cloud": cloud}
    write_dream(ws, dream_id, proposal=proposal, dream=info, report=_report(info, ops, note))
    return dream_id


def _report(info: dict[str, Any], ops: list[Operation], note: str | None) -> str:
    cloud = info["cloud"]
    lines = [f"# Dream {info['dream_id']} (cloud dream {cloud['dream_id']})", "",
             f"Memory store `{cloud['input_store']}` dreamed in the cloud over {len(cloud['session_ids'])} "
             f"sessions with `{cloud['model']}`; the result is store `{cloud['output_store']}` "
             "(written as a new store: the input store is unchanged).", ""]
    if note:
        lines += [note, ""]
    if info.get("instructions"):
        lines += ["Instructions:", "", *[f"> {ln}" for ln in str(info["instructions"]).splitlines()], ""]
    if cloud.get("refused"):  # the output store could not be used: no entries, nothing to approve or push
        return "\n".join([*lines, f"Refused, nothing to review: {cloud['refused']}.", ""])
    if not ops:
        lines += ["The output store holds the same memories as the input store: nothing to review.", ""]
    for o in ops:
        lines.append(f"- `{o.entry_id}` {o.op} `{o.path}`: {o.reason}")
    lines += ["", "Review:", "", f"    dreamcli playbooks diff {info['dream_id']}",
              f"    dreamcli playbooks approve {info['dream_id']} --entry ID   (or --all)",
              f"    dreamcli cloud memory push PLAYBOOK --store {cloud['input_store']}   (sends approved entries)", ""]
    return "\n".join(lines)
