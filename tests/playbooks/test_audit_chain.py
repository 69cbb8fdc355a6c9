"""The tamper-evident audit trail: a hash chain anchored in state/audit-head.json, checked by
`playbooks audit --verify` together with the live playbooks' content hashes; reviewer identity;
optional SSH signatures."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from dreamcli.audit import append_audit
from dreamcli.audit_chain import GENESIS, head_path, line_hash
from dreamcli.playbooks.audit_verify import verify_audit
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import audit, cli, needs_ssh_keygen, op, sign_as_ana, write_dream, write_playbook

DREAM = "01JD3Z0000AUDITCHAIN0000001"


@pytest.fixture
def reviewed(ws: Workspace) -> Workspace:
    """An approval and a rejection through the CLI: a playbook dreamcli produced, a two-line trail."""
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001"), op("pb-aaaa0002", text="Another lesson.")], base_version=0)
    assert cli(ws, "playbooks", "approve", DREAM, "-e", "pb-aaaa0001", "--yes").exit_code == 0
    assert cli(ws, "playbooks", "reject", DREAM, "-e", "pb-aaaa0002", "--reason", "no", "--yes").exit_code == 0
    return ws


def _lines(ws: Workspace) -> list[bytes]:
    return ws.audit_path.read_bytes().splitlines()


def _verify(ws: Workspace) -> tuple[int, dict]:
    r = cli(ws, "playbooks", "audit", "--verify", "--json")
    return r.exit_code, json.loads(r.stdout)


def test_each_line_links_to_the_one_before_and_the_head_anchors_the_end(reviewed: Workspace) -> None:
    lines = _lines(reviewed)
    recs = [json.loads(x) for x in lines]
    assert len(recs) == 2 and recs[0]["prev"] == GENESIS and recs[1]["prev"] == line_hash(lines[0])
    head = json.loads(head_path(reviewed).read_text())
    assert head["lines"] == 2 and head["hash"] == line_hash(lines[1])
    assert head["bytes"] == reviewed.audit_path.stat().st_size
    assert stat.S_IMODE(head_path(reviewed).stat().st_mode) == 0o600
    assert recs[0]["actor"] == "tester" and recs[0]["os_user"]
    code, out = _verify(reviewed)
    assert code == 0 and out["ok"] and out["chained_lines"] == 2
    assert out["playbooks"] == [{"playbook": "legal", "ok": True, "live_hash": out["playbooks"][0]["live_hash"],
                                 "recorded_hash": out["playbooks"][0]["live_hash"], "line": 1,
                                 "reason": "matches its last recorded change"}]


def test_an_edited_line_is_named(reviewed: Workspace) -> None:
    lines = _lines(reviewed)
    lines[0] = lines[0].replace(b'"actor":"tester"', b'"actor":"mallory"')
    reviewed.audit_path.write_bytes(b"\n".join(lines) + b"\n")
    code, out = _verify(reviewed)
    assert code == 1 and out["breaks"][0]["line"] == 2 and "line 1 was edited" in out["first_problem"]
    r = cli(reviewed, "playbooks", "audit", "--verify")
    assert r.exit_code == 1 and "audit.jsonl line 2" in r.stderr


def test_removed_last_lines_and_edited_last_line_are_caught(reviewed: Workspace) -> None:
    original = reviewed.audit_path.read_bytes()
    reviewed.audit_path.write_bytes(b"\n".join(_lines(reviewed)[:1]) + b"\n")
    code, out = _verify(reviewed)
    assert code == 1 and "removed from the end" in out["first_problem"]
    reviewed.audit_path.write_bytes(original.replace(b'"reason":"no"', b'"reason":"ok"'))
    code, out = _verify(reviewed)
    assert code == 1 and out["breaks"][0]["line"] == 2 and "head" in out["first_problem"]


def test_a_hand_edited_playbook_fails_verification(reviewed: Workspace) -> None:
    path = reviewed.playbooks_dir / "legal.md"
    path.write_text(path.read_text().replace("A new lesson.", "A quietly changed lesson."))
    code, out = _verify(reviewed)
    # line 1 (the approval) made it; the rejection on line 2 changed no playbook and vouches for nothing
    assert code == 1 and out["first_problem"].startswith("playbook legal:") and "audit line 1" in out["first_problem"]
    write_playbook(reviewed, "handmade", [("pb-cccc0001", "S", "By hand.")])
    _, out = _verify(reviewed)
    assert any(p["playbook"] == "handmade" and "no audit record" in p["reason"] for p in out["playbooks"])


def test_an_old_trail_is_upgraded_on_first_write(ws: Workspace) -> None:
    old = [{"v": 1, "ts": "2026-01-01T00:00:00Z", "action": "export", "actor": "ana"},
           {"v": 1, "ts": "2026-01-02T00:00:00Z", "action": "export", "actor": "bo"}]
    ws.audit_path.write_text("".join(json.dumps(r) + "\n" for r in old))
    v = verify_audit(ws)
    assert v.ok and v.legacy_lines == 2 and v.chained_lines == 0 and v.notes
    rec = append_audit(ws, "export", actor="cy")
    assert rec["chain"]["legacy_lines"] == 2 and rec["prev"] == line_hash(_lines(ws)[1])
    v = verify_audit(ws)
    assert v.ok and v.legacy_lines == 2 and v.chained_lines == 1
    ws.audit_path.write_bytes(ws.audit_path.read_bytes().replace(b'"actor": "ana"', b'"actor": "eve"'))
    v = verify_audit(ws)
    assert not v.ok and v.breaks[0]["line"] == 3 and "before the chain changed" in v.breaks[0]["reason"]


def test_a_crash_between_the_append_and_the_head_is_recovered(ws: Workspace) -> None:
    append_audit(ws, "export", actor="a")
    head = head_path(ws).read_text()
    append_audit(ws, "export", actor="b")
    head_path(ws).write_text(head)  # as if the process died before rewriting the head
    append_audit(ws, "export", actor="c")
    assert verify_audit(ws).ok
    assert json.loads(head_path(ws).read_text())["lines"] == 3


def test_concurrent_writers_keep_one_chain(ws: Workspace) -> None:
    def write(i: int) -> None:
        for j in range(5):
            append_audit(ws, "export", actor=f"w{i}-{j}")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    v = verify_audit(ws)
    assert v.ok and v.chained_lines == 20, v.to_json()


def test_reviewer_from_option_and_config(ws: Workspace) -> None:
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001"), op("pb-aaaa0002", text="Another lesson.")], base_version=0)
    ws.config_path.write_text("playbooks:\n  reviewer: Config Person\n")
    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    r = CliRunner().invoke(app, ["--home", str(ws.root), "playbooks", "approve", DREAM, "-e", "pb-aaaa0001",
                                 "--yes"], env={"DREAMCLI_ACTOR": ""})
    assert r.exit_code == 0, r.output
    r = cli(ws, "playbooks", "reject", DREAM, "-e", "pb-aaaa0002", "--reason", "x", "--yes", "--reviewer", "Opt")
    assert r.exit_code == 0, r.output
    assert [rec["actor"] for rec in audit(ws)] == ["Config Person", "Opt"]




@pytest.mark.slow
@needs_ssh_keygen
def test_signed_approvals_verify_and_a_forged_one_does_not(ws: Workspace, tmp_path: Path) -> None:
    sign_as_ana(ws, tmp_path)
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001")], base_version=0)
    assert cli(ws, "playbooks", "approve", DREAM, "-e", "pb-aaaa0001", "--yes").exit_code == 0
    rec = audit(ws)[0]
    assert "BEGIN SSH SIGNATURE" in rec["sig"]["signature"]
    code, out = _verify(ws)
    assert code == 0 and out["signatures"]["valid"] == 1 and out["signatures"]["signers"] == ["ana@example.com"]
    # a forger who rewrites the record, its chain and the head still cannot sign it
    forged = dict(rec, actor="mallory")
    line = json.dumps(forged, ensure_ascii=False, separators=(",", ":")).encode()
    ws.audit_path.write_bytes(line + b"\n")
    head = json.loads(head_path(ws).read_text()) | {"hash": line_hash(line), "bytes": len(line) + 1}
    head_path(ws).write_text(json.dumps(head))
    code, out = _verify(ws)
    assert code == 1 and out["breaks"] == [] and out["signatures"]["invalid"][0]["line"] == 1
