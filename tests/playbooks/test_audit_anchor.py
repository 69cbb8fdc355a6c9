"""`playbooks audit --verify --anchor LINE:HASH`: the head an earlier verification printed, kept
elsewhere, catches what the chain and its head alone cannot, a rewrite of the whole trail and head
(docs/audit.md, "An anchor kept elsewhere")."""

from __future__ import annotations

import json

import pytest

from dreamcli.audit_chain import GENESIS, head_path, line_hash
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream

DREAM = "01JD3Z0000AUDITANCHOR000001"


@pytest.fixture
def approved(ws: Workspace) -> Workspace:
    """Two approvals and a reject: three chained lines."""
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001"), op("pb-aaaa0002", text="Another lesson."),
                                     op("pb-aaaa0003", text="A third lesson.")], base_version=0)
    for args in (("-e", "pb-aaaa0001"), ("-e", "pb-aaaa0002")):
        assert cli(ws, "playbooks", "approve", DREAM, *args, "--yes").exit_code == 0
    assert cli(ws, "playbooks", "reject", DREAM, "-e", "pb-aaaa0003", "--reason", "no", "--yes").exit_code == 0
    return ws


def _verify(ws: Workspace, *extra: str) -> tuple[int, dict]:
    r = cli(ws, "playbooks", "audit", "--verify", "--json", *extra)
    return r.exit_code, json.loads(r.stdout)


def _anchor(ws: Workspace) -> str:
    code, out = _verify(ws)
    assert code == 0
    return f"{out['head']['line']}:{out['head']['hash']}"


def _rewrite(ws: Workspace, edit_line: int, keep: int | None = None) -> None:
    """What someone with write access and no signing key can do: edit a record, keep the first `keep`
    lines, and rebuild every link and the head so that the chain and the head verify."""
    records = [json.loads(raw) for raw in ws.audit_path.read_bytes().splitlines()][:keep]
    records[edit_line - 1]["actor"] = "mallory"
    prev, body = GENESIS, b""
    for rec in records:
        rec["prev"] = prev
        line = json.dumps(rec, ensure_ascii=False, separators=(",", ":")).encode()
        body += line + b"\n"
        prev = line_hash(line)
    ws.audit_path.write_bytes(body)
    head = {"v": 1, "lines": len(records), "bytes": len(body), "hash": prev, "ts": records[-1].get("ts")}
    head_path(ws).write_text(json.dumps(head) + "\n")


def test_the_head_to_keep_is_printed_and_in_the_json(approved: Workspace) -> None:
    code, out = _verify(approved)
    assert code == 0 and out["head"]["line"] == 3 and out["head"]["hash"].startswith("sha256:")
    assert out["head"]["hash"] == line_hash(approved.audit_path.read_bytes().splitlines()[-1])
    text = cli(approved, "playbooks", "audit", "--verify")
    assert text.exit_code == 0 and f"head: 3:{out['head']['hash']}" in text.stdout


def test_a_whole_rewrite_verifies_alone_but_not_against_the_anchor(approved: Workspace) -> None:
    anchor = _anchor(approved)
    _rewrite(approved, edit_line=1)
    assert _verify(approved)[0] == 0  # the chain and its head were rebuilt: only an anchor can tell
    code, out = _verify(approved, "--anchor", anchor)
    assert code == 1 and out["anchor"] == {"line": 3, "hash": anchor.split(":", 1)[1], "ok": False}
    assert out["first_problem"].startswith("audit.jsonl line 3: not the line anchored")
    text = cli(approved, "playbooks", "audit", "--verify", "--anchor", anchor)
    assert text.exit_code == 1 and "anchor: line 3 is not as anchored" in text.stdout
    assert "rewritten" in text.stderr


def test_a_rewrite_that_removed_lines_is_caught_by_the_anchor(approved: Workspace) -> None:
    anchor = _anchor(approved)
    _rewrite(approved, edit_line=2, keep=2)
    assert _verify(approved)[0] == 0
    code, out = _verify(approved, "--anchor", anchor)
    assert code == 1 and "the trail has 2 lines, but the anchor was taken at line 3" in out["first_problem"]


def test_later_audited_changes_keep_an_earlier_anchor_valid(approved: Workspace) -> None:
    anchor = _anchor(approved)
    write_dream(approved, "01JD3Z0000AUDITANCHOR000002", "legal", [op("pb-bbbb0001", text="Later.")],
                base_version=2)
    r = cli(approved, "playbooks", "approve", "01JD3Z0000AUDITANCHOR000002", "-e", "pb-bbbb0001", "--yes")
    assert r.exit_code == 0, r.output
    code, out = _verify(approved, "--anchor", anchor)
    assert code == 0 and out["anchor"]["ok"] and out["head"]["line"] == 4


def test_an_edit_before_the_anchor_without_relinking_is_both_a_break_and_a_bad_anchor(approved: Workspace) -> None:
    anchor = _anchor(approved)
    lines = approved.audit_path.read_bytes().splitlines()
    lines[0] = lines[0].replace(b'"approve"', b'"reject"', 1)
    approved.audit_path.write_bytes(b"\n".join(lines) + b"\n")
    code, out = _verify(approved, "--anchor", anchor)
    assert code == 1 and out["breaks"][0]["line"] == 2  # line 1 no longer what line 2 links to
    assert out["anchor"]["ok"] is True  # line 3 itself is untouched; the chain break tells the rest


@pytest.mark.parametrize("bad", ["3", "3:abc", "0:sha256:" + "0" * 64, "x:sha256:" + "0" * 64,
                                 "3:sha256:" + "0" * 63, "3:md5:" + "0" * 64])
def test_a_malformed_anchor_is_a_usage_error(approved: Workspace, bad: str) -> None:
    r = cli(approved, "playbooks", "audit", "--verify", "--anchor", bad)
    assert r.exit_code == 2 and "--anchor: expected LINE:sha256:" in r.stderr and r.stdout == ""


def test_anchor_without_verify_is_refused(approved: Workspace) -> None:
    r = cli(approved, "playbooks", "audit", "--anchor", _anchor(approved))
    assert r.exit_code == 2 and "use it with --verify" in r.stderr
