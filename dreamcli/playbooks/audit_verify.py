"""`dreamcli playbooks audit --verify`: is the audit trail intact, and does every live playbook hold
what its last recorded change produced? (docs/audit.md)

Checks, in one pass over `audit.jsonl`:
- the hash chain: each chained line's `prev` is the hash of the line before it (GENESIS first);
  lines from before the chain are covered by the `chain.legacy_*` anchor of the first chained line;
- the head (`state/audit-head.json`): the trail still ends where the last write left it (also when
  no line is chained any more); a record written after the trail was found cut (`chain_break`)
  keeps that cut reported;
- signatures, when config `audit.allowed_signers` is set (ssh-keygen -Y verify): every signed record
  verifies, and no chained record lacks one after a signed one or from `--signed-from` on
  (dreamcli.playbooks.audit_signatures);
- every live playbook's content hash equals the `hash_after` of the last record that changed it
  (a record changes a playbook when its `version_after` differs from its `version_before`), and every
  playbook such a record changed still has its live file (no command deletes one);
- every kept version (`.history/<name>/v<N>.md`) that such a record made is still there with that
  hash, and no import record lists a malformed item in its `history` (`versions_made`: the rule
  revert checks a kept version by too);
- an anchor (`--anchor LINE:HASH`, the `head` of an earlier verification kept elsewhere): line LINE
  still has that hash, so with an intact chain the first LINE lines are what they were. Only this
  catches someone who rewrote the whole trail and its head without a signing key;
- every decision record with a `proposal_hash`: its dream's proposal.json still has that hash, so the
  evidence the reviewer saw was not rewritten since (dreamcli.playbooks.audit_evidence).
The first problem found is named by its line number.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamcli.audit import content_hash
from dreamcli.audit_chain import GENESIS, parse_line, read_head
from dreamcli.playbooks.audit_evidence import check_evidence
from dreamcli.playbooks.audit_signatures import check_signatures, signature_problems
from dreamcli.playbooks.store import NAME_RE, history_path, list_playbook_names, playbook_path
from dreamcli.workspace.home import Workspace


@dataclass
class Verification:
    lines: int = 0
    legacy_lines: int = 0
    chained_lines: int = 0
    breaks: list[dict[str, Any]] = field(default_factory=list)  # {"line", "reason"}
    notes: list[dict[str, Any]] = field(default_factory=list)
    playbooks: list[dict[str, Any]] = field(default_factory=list)
    history: dict[str, Any] = field(default_factory=lambda: {"checked": 0, "problems": []})
    signatures: dict[str, Any] | None = None
    head: dict[str, Any] | None = None  # {"line", "hash"} of the last line: an anchor to keep elsewhere
    anchor: dict[str, Any] | None = None  # {"line", "hash", "ok"} when one was given
    evidence: dict[str, Any] = field(default_factory=lambda: {"checked": 0, "problems": [], "unhashed": 0})

    @property
    def ok(self) -> bool:
        return not self.breaks and all(p["ok"] for p in self.playbooks) and not self.history["problems"] and \
            not signature_problems(self.signatures) and not self.evidence["problems"]

    def first_problem(self) -> str | None:
        if self.breaks:
            b = self.breaks[0]
            return f"audit.jsonl line {b['line']}: {b['reason']}" if b.get("line") else str(b["reason"])
        bad = next((p for p in self.playbooks if not p["ok"]), None)
        if bad is not None:
            return f"playbook {bad['playbook']}: {bad['reason']}"
        if self.history["problems"]:
            h = self.history["problems"][0]
            version = "" if h["version"] is None else f" v{h['version']}"
            return f"playbook {h['playbook']}{version}: {h['reason']}"
        if signed := signature_problems(self.signatures):
            return f"audit.jsonl line {signed[0]['line']}: {signed[0]['reason']}"
        if self.evidence["problems"]:
            e = self.evidence["problems"][0]
            return f"audit.jsonl line {e['line']}: {e['reason']}"
        return None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "lines": self.lines, "legacy_lines": self.legacy_lines,
                "chained_lines": self.chained_lines, "first_problem": self.first_problem(),
                "breaks": self.breaks, "notes": self.notes, "playbooks": self.playbooks,
                "history": self.history, "signatures": self.signatures, "evidence": self.evidence,
                "head": self.head, "anchor": self.anchor}


ANCHOR_RE = re.compile(r"([1-9][0-9]{0,11}):(sha256:[0-9a-f]{64})")


def parse_anchor(text: str) -> tuple[int, str]:
    """`LINE:sha256:HEX` (the `head` an earlier `--verify` printed) as (line, hash); ValueError if not."""
    m = ANCHOR_RE.fullmatch(text.strip().lower())
    if m is None:
        raise ValueError("expected LINE:sha256:<64 hex digits>, as `playbooks audit --verify` prints the head")
    return int(m[1]), m[2]


@dataclass(frozen=True)
class Made:
    """A version of a playbook that an audit record says it made, with the hash it recorded: the live
    one (`version_after`, `hash_after`) or, for an import, an older one its bundle brought (an item of
    `history`). A malformed history item is one too, `malformed` saying why: nothing matches it."""

    line: int
    playbook: str
    version: int | None  # None: a malformed history item whose version cannot be read (it may be any)
    hash: str | None  # None: no hash recorded (not a string)
    live: bool  # the record's own version_after (False: an item of an import's history)
    action: str | None = None
    actor: str | None = None
    malformed: str | None = None

    def matches(self, digest: str | None) -> bool:
        """Whether a kept file with this content hash is what the record says."""
        return self.malformed is None and self.hash is not None and self.hash == digest


def audit_lines(ws: Workspace) -> list[bytes]:
    try:
        return ws.audit_path.read_bytes().splitlines()
    except FileNotFoundError:
        return []


def versions_made(lines: list[bytes], indexes: Iterable[int] | None = None) -> list[Made]:
    """Every version the audit records on `lines` (those at `indexes`; None: every line that may record
    one) say they made, oldest first: the one rule `audit --verify` and `playbooks revert` check kept
    versions by. A record makes a version when its `version_after` differs from its `version_before`
    (a reject, or an approve of entries already there, vouches for nothing)."""
    out: list[Made] = []
    for i in (i for i, body in enumerate(lines) if _may_change(body)) if indexes is None else indexes:
        if (rec := parse_line(lines[i])) is not None:
            out += _made_by(i + 1, rec)
    return out


def last_made(made: Iterable[Made]) -> dict[tuple[str, int | None], Made]:
    """What decides each kept version's hash: the last record that made (playbook, version). The key
    (playbook, None) holds the last malformed history item whose version cannot be read, which may be
    any version of the playbook."""
    return {(m.playbook, m.version): m for m in made}


def _may_change(body: bytes) -> bool:
    return b'"hash_after"' in body and b'"version_after"' in body


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _made_by(line: int, rec: dict[str, Any]) -> list[Made]:
    """The versions one record made: an import's history items first, then its own version_after, so
    that the live version's record decides when an item names it too."""
    name, after = rec.get("playbook"), rec.get("version_after")
    if not isinstance(name, str) or not NAME_RE.match(name):
        return []
    action, actor = (rec[k] if isinstance(rec.get(k), str) else None for k in ("action", "actor"))
    out: list[Made] = []
    kept = rec.get("history")
    if rec.get("action") == "import" and kept is not None:  # the older versions its bundle brought
        if not isinstance(kept, list):
            out.append(Made(line, name, None, None, False, action, actor, malformed="its history is not a list"))
        for n, item in enumerate(kept if isinstance(kept, list) else [], 1):
            version = item.get("version") if isinstance(item, dict) else None
            version = version if _count(version) else None
            digest = item.get("hash") if isinstance(item, dict) else None
            why = ("is not an object" if not isinstance(item, dict) else "has no version number" if version is None
                   else "has no hash (a string)" if not isinstance(digest, str) else None)
            out.append(Made(line, name, version, digest if why is None else None, False, action, actor,
                            malformed=None if why is None else f"its history item {n} {why}"))
    if _count(after) and after != rec.get("version_before"):
        digest = rec.get("hash_after")
        out.append(Made(line, name, after, digest if isinstance(digest, str) else None, True, action, actor))
    return out



def _link_of(body: bytes) -> str | None:
    """The `prev` of a well-formed chained line, read without parsing the whole record (it is the last
    top-level key but `sig`; a quote inside a JSON string is escaped, so the pattern is the key)."""
    if body[:1] != b"{" or body[-1:] != b"}":
        return None
    i = body.rfind(b'"prev":"')
    if i < 0:
        return None
    value = body[i + 8:i + 8 + 71]
    if body[i + 8 + 71:i + 8 + 72] != b'"' or not value.startswith(b"sha256:"):
        return None
    return value.decode("ascii", "replace")


def verify_audit(ws: Workspace, *, allowed_signers: str | None = None, anchor: tuple[int, str] | None = None,
                 signed_from: int | None = None) -> Verification:
    """`signed_from` (with `allowed_signers`): every chained record from that line on must be signed."""
    v = Verification()
    anchored: str | None = None  # the hash of the anchor's line, when the trail has it
    changes: list[int] = []  # indexes of lines that may record a playbook's content hash
    chained: list[int] = []  # indexes of chained lines: the ones signing covers
    legacy = hashlib.sha256()
    prev: str | None = None  # hash of the line before; None before the first line
    started = False
    lines = audit_lines(ws)
    for i, body in enumerate(lines):
        n = i + 1
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        link = _link_of(body)
        if link is None:  # a line from before the chain, or a damaged one: parse it to tell
            rec = parse_line(body)
            if rec is not None and "prev" in rec:
                v.breaks.append({"line": n, "reason": "its chain link (prev) is malformed"})
            elif not started:
                v.legacy_lines += 1
                legacy.update(body + b"\n")
            elif rec is None:
                v.breaks.append({"line": n, "reason": "not a JSON record (damaged or edited)"})
            else:
                v.breaks.append({"line": n, "reason": "no chain link (prev): added by hand or by an old dreamcli"})
        else:
            if not started:
                started = True
                _check_anchor(v, n, parse_line(body) or {}, legacy.hexdigest())
            if link != (GENESIS if prev is None else prev):
                v.breaks.append({"line": n, "reason": _prev_mismatch(n)})
            v.chained_lines += 1
            if b'"chain_note"' in body and (rec := parse_line(body)) and rec.get("chain_note"):
                v.notes.append({"line": n, "note": rec["chain_note"]})
            if b'"chain_break"' in body and (rec := parse_line(body)) and rec.get("chain_break"):
                v.breaks.append({"line": n, "reason": _cut(rec["chain_break"])})
            chained.append(i)
        if _may_change(body):
            changes.append(i)
        if anchor is not None and n == anchor[0]:
            anchored = digest
        prev = digest
    v.lines = len(lines)
    if prev is not None:
        v.head = {"line": v.lines, "hash": prev}
    _check_head(v, ws, started, prev)
    if anchor is not None:
        _check_given_anchor(v, anchor, anchored)
    made = versions_made(lines, changes)
    _check_playbooks(v, ws, {m.playbook: (m.line, m.hash) for m in made if m.live})
    _check_history(v, ws, made)
    if allowed_signers:
        v.signatures = check_signatures(lines, chained, allowed_signers, signed_from)
    v.evidence = check_evidence(ws, lines)
    return v


def _cut(info: Any) -> str:
    what = info.get("reason") if isinstance(info, dict) else None
    return (f"written after the trail was found cut ({what or 'lines were removed'}): "
            "lines were removed before this one")


def _prev_mismatch(n: int) -> str:
    if n == 1:
        return "the first line does not start a chain (were lines removed before it?)"
    return (f"its prev does not match line {n - 1}: line {n - 1} was edited after this one was written, "
            "or lines were inserted or removed here")


def _check_anchor(v: Verification, n: int, rec: dict[str, Any], legacy_hex: str) -> None:
    chain = rec.get("chain")
    if v.legacy_lines == 0 and not isinstance(chain, dict):
        return
    if not isinstance(chain, dict):
        v.breaks.append({"line": n, "reason": f"{v.legacy_lines} older lines before it, but no chain anchor"})
        return
    if chain.get("legacy_lines") != v.legacy_lines or chain.get("legacy_hash") != "sha256:" + legacy_hex:
        v.breaks.append({"line": n, "reason": f"the {v.legacy_lines} lines from before the chain changed since "
                                              f"it was anchored here ({chain.get('legacy_lines')} lines then)"})


def _check_given_anchor(v: Verification, anchor: tuple[int, str], found: str | None) -> None:
    line, recorded = anchor
    ok = found == recorded
    v.anchor = {"line": line, "hash": recorded, "ok": ok}
    if found is None:
        v.breaks.append({"line": v.lines or None, "reason": f"the trail has {v.lines} lines, but the anchor was "
                                                             f"taken at line {line}: lines were removed"})
    elif not ok:
        v.breaks.append({"line": line, "reason": f"not the line anchored ({found[:19]}… where the anchor has "
                                                 f"{recorded[:19]}…): the trail was rewritten up to here"})


def _check_head(v: Verification, ws: Workspace, started: bool, last: str | None) -> None:
    head = read_head(ws)
    if not started and head is not None:
        have = "the trail is empty or missing" if not v.lines else f"none of its {v.lines} lines has a chain link"
        v.breaks.append({"line": None, "reason": f"the head (state/audit-head.json) records {head['lines']} "
                                                 f"chained line{'' if head['lines'] == 1 else 's'}, but {have}: "
                                                 "lines were removed or their links (prev) stripped"})
        return
    if not started:
        if v.lines:
            v.notes.append({"line": None, "note": f"{v.lines} lines from before the hash chain; the next "
                                                 "audited change anchors them"})
        return
    if head is None:
        v.breaks.append({"line": None, "reason": "state/audit-head.json is missing or unreadable"})
    elif head["lines"] > v.lines:
        v.breaks.append({"line": v.lines, "reason": f"the trail ends here, but its head records {head['lines']} "
                                                    "lines: lines were removed from the end"})
    elif head["lines"] < v.lines:
        v.breaks.append({"line": head["lines"] + 1, "reason": "written after the last audited write (the head "
                                                              "ends before this line)"})
    elif head["hash"] != last:
        v.breaks.append({"line": v.lines, "reason": "the last line does not match the head's hash (edited)"})


def missing_kept(name: str, version: int, line: int) -> str:
    """The one line naming a kept version an audit record made whose file is gone."""
    return f"kept file .history/{name}/v{version}.md made by audit line {line} is missing"


_MISSING = "is missing"


def _file_hash(path: Path) -> tuple[str | None, str | None]:
    """The content hash of a file, or None and why: `_MISSING`, or why it cannot be read (strerror)."""
    try:
        return content_hash(path.read_bytes()), None
    except FileNotFoundError:
        return None, _MISSING
    except OSError as e:
        return None, str(e.strerror or e)


def _check_playbooks(v: Verification, ws: Workspace, last_change: dict[str, tuple[int, str | None]]) -> None:
    """Every live playbook, and every playbook whose last recorded change made a version: dreamcli has no
    command that deletes a playbook, so its file must still be there."""
    for name in sorted(set(list_playbook_names(ws)) | set(last_change)):
        live, why = _file_hash(playbook_path(ws, name))
        problem = why if why in (None, _MISSING) else f"cannot be read ({why})"
        line, recorded = last_change.get(name, (None, None))
        short = f"{recorded[:19]}…" if recorded else "no hash"
        ok = problem is None and recorded is not None and recorded == live
        reason = "matches its last recorded change" if ok else (
            f"the file {problem}; no audit record produced it" if problem is not None and line is None else
            f"audit line {line} recorded {short} but the file {problem}" if problem is not None else
            "no audit record produced it (created or edited by hand)" if line is None else
            f"its content ({(live or '')[:19]}…) is not what audit line {line} recorded "
            f"({(recorded or 'none')[:19]}…): edited outside dreamcli")
        v.playbooks.append({"playbook": name, "ok": ok, "live_hash": live, "recorded_hash": recorded,
                            "line": line, "reason": reason})


def _check_history(v: Verification, ws: Workspace, made: list[Made]) -> None:
    """Each kept version that an audit record made (the last such record) must still be there with its
    hash; a malformed history item is a problem of its own (revert refuses the versions it may stand for)."""
    for m in made:
        if m.malformed is not None:
            v.history["checked"] += 1
            v.history["problems"].append({
                "playbook": m.playbook, "version": m.version, "line": m.line, "hash": None, "recorded_hash": None,
                "reason": f"the import record on audit line {m.line} is malformed: {m.malformed} (edited outside "
                          "dreamcli)"})
    for (name, version), m in sorted(last_made(made).items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        if version is None or m.malformed is not None:
            continue  # reported above
        kept, problem = _file_hash(history_path(ws, name, version))
        v.history["checked"] += 1
        if problem == _MISSING:
            reason = missing_kept(name, version, m.line)
        elif m.matches(kept):
            continue
        else:
            kept = kept or f"unreadable ({problem})"  # as the problem's `hash`
            reason = (f"its kept file (.history/{name}/v{version}.md, {kept[:19]}…) is not what audit line "
                      f"{m.line} recorded ({(m.hash or 'none')[:19]}…): edited outside dreamcli")
        v.history["problems"].append({"playbook": name, "version": version, "line": m.line, "hash": kept,
                                      "recorded_hash": m.hash, "reason": reason})

