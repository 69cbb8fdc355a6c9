"""What the HTML review page shows (plain data; dreamcli.ui.html_pages renders it).

Per proposed operation: everything `describe_dream` gives the terminal view, plus every evidence
excerpt with its time, a word diff against the live text, taint when the operation carries it, the
pilot's lift when `dreams/<id>/pilot.json` holds one, and the exact approve/reject commands.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dreamcli.ids import ulid_time_ms
from dreamcli.playbooks.pilot_file import parse_lift, read_pilot
from dreamcli.playbooks.proposals import Dream, Operation
from dreamcli.playbooks.review import describe_dream
from dreamcli.workspace.home import Workspace

PAGE_VERSION = 1
_TOKEN = re.compile(r"\s+|[^\s]+")
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_DIFF_MAX = 20_000  # characters; longer texts are shown whole, not diffed


def word_diff(old: str | None, new: str | None) -> list[dict[str, str]]:
    """Segments {"op": "same"|"del"|"ins", "text"} turning `old` into `new`, word by word."""
    old, new = old or "", new or ""
    if old == new:
        return [{"op": "same", "text": new}] if new else []
    if not old or not new or len(old) + len(new) > _DIFF_MAX:
        return [s for s in ({"op": "del", "text": old}, {"op": "ins", "text": new}) if s["text"]]
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    out: list[dict[str, str]] = []

    def emit(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1]["op"] == op:
            out[-1]["text"] += text
        else:
            out.append({"op": op, "text": text})

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            emit("same", "".join(a[i1:i2]))
        else:
            emit("del", "".join(a[i1:i2]))
            emit("ins", "".join(b[j1:j2]))
    return out


def _session_time(session_id: str | None) -> str | None:
    """When a session started, from its ULID (no file read)."""
    if not session_id:
        return None
    if not _ULID.fullmatch(session_id.upper()):
        return None
    ms = ulid_time_ms(session_id)
    from datetime import UTC, datetime

    if not 0 < ms < 253402300800000:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_times(ws: Workspace, wanted: dict[str, set[int]]) -> dict[tuple[str, int], str]:
    """The `ts` of the session events the evidence points at, reading each session file once, up to
    the last line needed. Sessions that are not on disk are left out."""
    from dreamcli.sessions.paths import session_path

    found: dict[tuple[str, int], str] = {}
    for sid, seqs in wanted.items():
        if not _ULID.fullmatch(sid.upper()):
            continue
        try:
            path = session_path(ws, sid.upper())
        except (ValueError, OverflowError, OSError):
            continue
        last = max(seqs)
        try:
            with open(path, "rb") as f:
                for raw in f:
                    try:
                        ev = json.loads(raw)
                    except (ValueError, RecursionError):
                        continue
                    seq = ev.get("seq") if isinstance(ev, dict) else None
                    if isinstance(seq, int) and seq in seqs and isinstance(ev.get("ts"), str):
                        found[(sid, seq)] = ev["ts"]
                    if isinstance(seq, int) and seq >= last:
                        break
        except OSError:
            continue
    return found


def _entry_pilot(described: Any, pilot: dict[str, Any] | None, entry_id: str) -> dict[str, Any] | None:
    """The entry's lift: what describe_dream found (dreamcli.playbooks.lift), else the pilot file's
    per-entry result."""
    if isinstance(described, dict) and (lift := parse_lift(described)) is not None:
        together = described.get("together_with")
        own = parse_lift(described.get("leave_one_out_lift"))
        notes = [f"{described['stale']}; re-run the pilot"] if isinstance(described.get("stale"), str) else []
        notes += [f"piloted with {together} entries"] if isinstance(together, int) and together > 1 else []
        notes += [f"leave-one-out {own['delta']:+.3f}"] if own is not None else []
        lift["note"] = "; ".join(notes) or None
        return lift
    return pilot["entries"].get(entry_id) if pilot else None


def _taint(op: Operation) -> Any:
    value = getattr(op, "taint", None)
    if value is None and op.model_extra:
        value = op.model_extra.get("taint")
    if value in (None, [], {}, ""):
        return None
    return value


def _command(*parts: str) -> str:
    return " ".join(shlex.quote(p) for p in parts)


def commands(dream_id: str, entry_id: str, prefix: str = "dreamcli") -> dict[str, str]:
    """The commands to copy; `prefix` is `dreamcli` (plus `--home ROOT` when the page was made with it)."""
    return {
        "approve": f"{prefix} " + _command("playbooks", "approve", dream_id, "--entry", entry_id, "--yes"),
        "reject": f"{prefix} " + _command("playbooks", "reject", dream_id, "--entry", entry_id) + ' --reason "…" --yes',
    }


def _status(item: dict[str, Any]) -> str:
    if item.get("decision") == "approve":
        return "approved"
    if item.get("decision") == "reject":
        return "rejected"
    if item.get("fits") == "conflict":
        return "conflict"
    return "pending"


def dream_page(ws: Workspace, dream: Dream, *, transcripts: dict[str, str] | None = None,
               times: dict[tuple[str, int], str] | None = None, prefix: str = "dreamcli") -> dict[str, Any]:
    """One dream for the page: `describe_dream` (every entry, decided or not) made complete. What comes
    from the proposal file is redacted with the workspace's current rules, as `describe_dream` does."""
    from dreamcli.playbooks.vetting import Vetting

    described = describe_dream(ws, dream, include_decided=True)
    vet = Vetting.of(ws)
    by_id = {o.entry_id: o for o in dream.proposal.operations}
    pilot = read_pilot(dream.dir / "pilot.json")
    times = times or {}
    for item in described["operations"]:
        op = by_id[item["entry_id"]]
        evidence = []
        for ev in op.evidence:
            extra = ev.model_extra or {}
            ts = extra.get("ts") if isinstance(extra.get("ts"), str) else None
            if ts is None and ev.session_id is not None and ev.seq is not None:
                ts = times.get((ev.session_id, ev.seq))
            started = _session_time(ev.session_id)
            link = None
            if transcripts and ev.session_id in transcripts:
                link = transcripts[ev.session_id] + (f"#seq-{ev.seq}" if ev.seq is not None else "")
            evidence.append({"session_id": ev.session_id, "seq": ev.seq, "excerpt": vet.redact(ev.excerpt),
                             "ts": ts, "session_started": started, "episode": vet.redact_obj(extra.get("episode")),
                             "path": vet.redact_obj(extra.get("path")), "link": link})
        item["evidence"] = evidence
        old = item.get("old_text")
        new = item.get("new_text")
        item["diff"] = word_diff(old, new) if item["op"] not in ("counts",) else []
        item["taint"] = vet.redact_obj(_taint(op))
        item["status"] = _status(item)
        item["commands"] = commands(dream.dream_id, item["entry_id"], prefix)
        item["pilot"] = _entry_pilot(item.get("pilot"), pilot, item["entry_id"])
    described["pilot"] = pilot
    described["kinds"] = sorted({i["kind"] or "-" for i in described["operations"]})
    return described


def evidence_sessions(dreams: Iterable[Dream]) -> dict[str, set[int]]:
    """Session id -> the event seqs the dreams' evidence points at."""
    wanted: dict[str, set[int]] = {}
    for dream in dreams:
        for op in dream.proposal.operations:
            for ev in op.evidence:
                if ev.session_id:
                    wanted.setdefault(ev.session_id, set())
                    if ev.seq is not None:
                        wanted[ev.session_id].add(ev.seq)
    return wanted


def review_page(ws: Workspace, dreams: list[Dream], *, reviewer: dict[str, Any], generated: str,
                transcripts: dict[str, str] | None = None, read_sessions: bool = True,
                prefix: str = "dreamcli") -> dict[str, Any]:
    """Everything the review page shows, for these dreams."""
    times: dict[tuple[str, int], str] = {}
    if read_sessions:
        wanted = {sid: seqs for sid, seqs in evidence_sessions(dreams).items() if seqs}
        times = event_times(ws, wanted)
    pages = [dream_page(ws, d, transcripts=transcripts, times=times, prefix=prefix) for d in dreams]
    kinds = sorted({k for p in pages for k in p["kinds"]})
    total = sum(len(p["operations"]) for p in pages)
    return {"version": PAGE_VERSION, "generated": generated, "workspace": str(Path(ws.root)),
            "reviewer": reviewer, "dreams": pages, "kinds": kinds, "operations": total,
            "statuses": ["pending", "approved", "rejected", "conflict"]}
