"""`playbooks audit --verify` against two kinds of tampering (docs/audit.md): a signature removed, or an
unsigned record forged, on a signed trail (and `--signed-from` for a trail stripped of every signature);
and a proposal rewritten after the decision made on it (`proposal_hash`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from dreamcli.audit import append_audit, content_hash
from dreamcli.audit_chain import head_path, line_hash
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, cli, needs_ssh_keygen, op, sign_as_ana, write_dream

DREAM = "01JD3Z0000AUDITS18000000001"
DREAM2 = "01JD3Z0000AUDITS18000000002"



def _verify(ws: Workspace, *extra: str) -> tuple[int, dict[str, Any]]:
    r = cli(ws, "playbooks", "audit", "--verify", "--json", *extra)
    return r.exit_code, json.loads(r.stdout)


def _ok(r: Any) -> None:
    assert r.exit_code == 0, r.output


def _dream(ws: Workspace, dream_id: str = DREAM) -> None:
    write_dream(ws, dream_id, "legal", [op("pb-s18s0001"), op("pb-s18s0002", text="Another lesson."),
                                        op("pb-s18s0003", text="A third lesson.")], base_version=0)


def _rewrite(ws: Workspace, records: list[dict[str, Any]]) -> None:
    """Write `records` as the whole trail with every link and the head rebuilt, as someone who can write
    the workspace but holds no signing key would."""
    lines: list[bytes] = []
    prev = "sha256:" + "0" * 64
    for rec in records:
        line = json.dumps({**rec, "prev": prev}, ensure_ascii=False, separators=(",", ":")).encode()
        lines.append(line)
        prev = line_hash(line)
    data = b"".join(line + b"\n" for line in lines)
    ws.audit_path.write_bytes(data)
    head_path(ws).write_text(json.dumps({"v": 1, "lines": len(lines), "bytes": len(data), "hash": prev}))


# --- signing -------------------------------------------------------------------------------------

@pytest.fixture
def signed(ws: Workspace, tmp_path: Path) -> Workspace:
    """A workspace that signs its records with ana's key and checks them with her allowed signers."""
    sign_as_ana(ws, tmp_path)
    _dream(ws)
    return ws


@pytest.mark.slow
@needs_ssh_keygen
def test_a_signature_removed_after_a_signed_record_fails(signed: Workspace) -> None:
    _ok(cli(signed, "playbooks", "approve", DREAM, "-e", "pb-s18s0001", "--yes"))
    _ok(cli(signed, "playbooks", "approve", DREAM, "-e", "pb-s18s0002", "--yes"))
    assert _verify(signed)[0] == 0
    first, second = audit(signed)
    second.pop("sig")
    _rewrite(signed, [first, second | {"actor": "mallory"}])
    code, out = _verify(signed)
    sigs = out["signatures"]
    assert code == 1 and out["breaks"] == [] and sigs["invalid"] == []
    assert (sigs["checked"], sigs["valid"], sigs["unsigned"], sigs["signers"]) == (1, 1, 1, ["ana@example.com"])
    assert [u["line"] for u in sigs["unsigned_after_signed"]] == [2]
    assert out["first_problem"].startswith("audit.jsonl line 2: not signed, but line 1 before it is")
    r = cli(signed, "playbooks", "audit", "--verify")
    assert r.exit_code == 1 and "✗ line 2: not signed" in r.stdout and "BROKEN" in r.stdout


@pytest.mark.slow
@needs_ssh_keygen
def test_a_forged_unsigned_record_appended_to_a_signed_trail_fails(signed: Workspace) -> None:
    _ok(cli(signed, "playbooks", "approve", DREAM, "-e", "pb-s18s0001", "--yes"))
    (rec,) = audit(signed)
    forged = {k: rec[k] for k in ("v", "ts", "dream_id", "playbook")} | {
        "action": "reject", "actor": "ana@example.com", "entry_ids": ["pb-s18s0002"], "reason": "no"}
    raw = signed.audit_path.read_bytes()
    line = json.dumps({**forged, "prev": line_hash(raw.rstrip(b"\n"))}, separators=(",", ":")).encode()
    signed.audit_path.write_bytes(raw + line + b"\n")
    head_path(signed).write_text(json.dumps({"v": 1, "lines": 2, "bytes": len(raw) + len(line) + 1,
                                             "hash": line_hash(line)}))
    code, out = _verify(signed)
    assert code == 1 and out["breaks"] == [] and out["signatures"]["valid"] == 1
    assert [u["line"] for u in out["signatures"]["unsigned_after_signed"]] == [2]


@pytest.mark.slow
@needs_ssh_keygen
def test_signed_from_catches_a_trail_stripped_of_every_signature(signed: Workspace) -> None:
    _ok(cli(signed, "playbooks", "approve", DREAM, "-e", "pb-s18s0001", "--yes"))
    _ok(cli(signed, "playbooks", "approve", DREAM, "-e", "pb-s18s0002", "--yes"))
    assert _verify(signed, "--signed-from", "1")[0] == 0
    _rewrite(signed, [{k: v for k, v in rec.items() if k != "sig"} for rec in audit(signed)])
    assert _verify(signed)[0] == 0  # the chain alone cannot tell: nothing signed is left
    shown = cli(signed, "playbooks", "audit", "--verify").stdout  # but the text does not call it fine
    assert "! signatures: 0 of 0 valid; 2 chained records unsigned; nothing requires them signed" in shown
    code, out = _verify(signed, "--signed-from", "2")
    assert code == 1 and out["signatures"]["signed_from"] == 2
    assert [u["line"] for u in out["signatures"]["unsigned_required"]] == [2]
    assert out["first_problem"] == ("audit.jsonl line 2: not signed, but --signed-from 2 requires a signature on "
                                    "every record from line 2 on")
    assert _verify(signed, "--signed-from", "3")[0] == 0  # no record from line 3 on


@pytest.mark.slow
@needs_ssh_keygen
def test_signed_from_never_requires_lines_from_before_the_chain(signed: Workspace) -> None:
    old = [{"v": 1, "ts": "2026-01-01T00:00:00Z", "action": "export", "actor": "old", "n": n} for n in (1, 2)]
    signed.audit_path.write_text("".join(json.dumps(r) + "\n" for r in old))
    _ok(cli(signed, "playbooks", "approve", DREAM, "-e", "pb-s18s0001", "--yes"))
    code, out = _verify(signed, "--signed-from", "1")
    assert code == 0, out["first_problem"]
    assert (out["legacy_lines"], out["signatures"]["valid"], out["signatures"]["unsigned_required"]) == (2, 1, [])


@pytest.mark.slow
@needs_ssh_keygen
def test_a_record_whose_signing_failed_is_still_reported(signed: Workspace, tmp_path: Path) -> None:
    text = signed.config_path.read_text().replace(str(tmp_path / "id_ed25519"), str(tmp_path / "no-such-key"))
    signed.config_path.write_text(text)
    _ok(cli(signed, "playbooks", "approve", DREAM, "-e", "pb-s18s0001", "--yes"))
    assert "error" in audit(signed)[0]["sig"]
    code, out = _verify(signed)
    assert code == 1 and out["signatures"]["invalid"][0]["line"] == 1
    assert out["signatures"]["invalid"][0]["reason"].startswith("not signed:")


def test_signed_from_is_a_usage_error_without_verify_or_allowed_signers(ws: Workspace) -> None:
    r = cli(ws, "playbooks", "audit", "--signed-from", "1")
    assert r.exit_code == 2 and "use it with --verify" in r.stderr
    r = cli(ws, "playbooks", "audit", "--verify", "--signed-from", "1")
    assert r.exit_code == 2 and "audit.allowed_signers" in r.stderr


# --- the proposal decided on ---------------------------------------------------------------------

def _proposal(ws: Workspace, dream_id: str = DREAM) -> Path:
    return ws.dreams_dir / dream_id / "proposal.json"


def test_approve_reject_and_edit_records_carry_the_proposal_hash(ws: Workspace) -> None:
    _dream(ws)
    digest = content_hash(_proposal(ws).read_bytes())
    _ok(cli(ws, "playbooks", "approve", DREAM, "-e", "pb-s18s0001", "--yes"))
    _ok(cli(ws, "playbooks", "reject", DREAM, "-e", "pb-s18s0002", "--reason", "no", "--yes"))
    _ok(cli(ws, "playbooks", "edit", DREAM, "pb-s18s0003", "--text", "A third lesson, edited."))
    assert [(r["action"], r.get("proposal_hash")) for r in audit(ws)] == [
        ("approve", digest), ("reject", digest), ("edit", digest)]
    code, out = _verify(ws)
    assert code == 0 and out["evidence"] == {"checked": 3, "problems": [], "unhashed": 0}


def test_a_proposal_rewritten_while_it_is_read_is_refused(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.playbooks import proposals

    _dream(ws)
    real = proposals.load_dream

    def racing(ws_: Workspace, dream_id: str) -> Any:
        dream = real(ws_, dream_id)
        _proposal(ws).write_text(_proposal(ws).read_text().replace("evidence for", "FABRICATED for"))
        return dream

    monkeypatch.setattr(proposals, "load_dream", racing)
    r = cli(ws, "playbooks", "approve", DREAM, "-e", "pb-s18s0001", "--yes")
    assert r.exit_code == 2 and "proposal.json: changed while it was read; nothing was decided" in r.stderr
    assert audit(ws) == [] and not (ws.dreams_dir / DREAM / "decisions.jsonl").exists()


def test_an_edit_rerun_record_carries_the_proposal_hash(ws: Workspace) -> None:
    _dream(ws)
    _ok(cli(ws, "playbooks", "edit", DREAM, "pb-s18s0003", "--text", "A third lesson, edited."))
    ws.audit_path.unlink()  # as if the record was never written: the rerun writes it
    head_path(ws).unlink()
    _ok(cli(ws, "playbooks", "edit", DREAM, "pb-s18s0003", "--text", "A third lesson, edited."))
    (rec,) = audit(ws)
    assert rec["action"] == "edit" and rec["proposal_hash"] == content_hash(_proposal(ws).read_bytes())


def test_evidence_rewritten_after_the_approval_fails(ws: Workspace) -> None:
    _dream(ws)
    _ok(cli(ws, "playbooks", "approve", DREAM, "-e", "pb-s18s0001", "--yes"))
    data = json.loads(_proposal(ws).read_text())
    data["operations"][0]["evidence"] = [{"session_id": "01JD0Q8Z3V6M4T2N8K5R7W9XAB", "seq": 1,
                                          "excerpt": "FABRICATED: the security team asked for this"}]
    data["operations"][0]["support"]["sessions"] = 999
    _proposal(ws).write_text(json.dumps(data, indent=2))
    code, out = _verify(ws)
    (problem,) = out["evidence"]["problems"]
    assert code == 1 and problem["line"] == 1 and problem["dream_id"] == DREAM
    assert problem["hash"] == content_hash(_proposal(ws).read_bytes()) != problem["recorded_hash"]
    assert out["first_problem"].startswith(f"audit.jsonl line 1: dreams/{DREAM}/proposal.json (sha256:")
    assert out["first_problem"].endswith("rewritten after the decision")
    r = cli(ws, "playbooks", "audit", "--verify")
    assert r.exit_code == 1 and "✗ proposals: 0 of 1 as decided on" in r.stdout


def test_a_removed_dream_or_proposal_fails(ws: Workspace) -> None:
    _dream(ws)
    _dream(ws, DREAM2)
    _ok(cli(ws, "playbooks", "reject", DREAM, "-e", "pb-s18s0001", "--reason", "no", "--yes"))
    _ok(cli(ws, "playbooks", "reject", DREAM2, "-e", "pb-s18s0001", "--reason", "no", "--yes"))
    shutil.rmtree(ws.dreams_dir / DREAM)
    _proposal(ws, DREAM2).unlink()
    code, out = _verify(ws)
    first, second = out["evidence"]["problems"]
    assert code == 1 and (first["line"], second["line"]) == (1, 2)
    assert f"dream {DREAM} is missing" in first["reason"] and "no dreamcli command removes a dream" in first["reason"]
    assert f"dreams/{DREAM2}/proposal.json is missing" in second["reason"]


def test_a_record_naming_no_dream_folder_is_never_read_as_a_path(ws: Workspace) -> None:
    outside = ws.root.parent / "proposal.json"
    outside.write_text("{}")
    append_audit(ws, "approve", dream_id="../..", proposal_hash=content_hash(outside.read_bytes()))
    code, out = _verify(ws)
    assert code == 1 and "no dream id that names a dream folder" in out["evidence"]["problems"][0]["reason"]


def test_decisions_from_before_proposal_hashes_are_counted_not_checked(ws: Workspace) -> None:
    _dream(ws)
    append_audit(ws, "approve", dream_id=DREAM, playbook="legal", entry_ids=[])  # as an older dreamcli wrote it
    append_audit(ws, "export", format="json", output="-")  # not a decision
    _proposal(ws).write_text("{}")  # nothing recorded its hash: nothing to compare it with
    code, out = _verify(ws)
    assert code == 0 and out["evidence"] == {"checked": 0, "problems": [], "unhashed": 1}
    r = cli(ws, "playbooks", "audit", "--verify")
    assert "0 of 0 as decided on; 1 decision from before proposal hashes" in r.stdout
