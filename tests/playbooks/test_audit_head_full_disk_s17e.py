"""The audit head (state/audit-head.json) written after the line it anchors: when the disk fills between the
two writes, the recorded change stands (exit 0) and the head catches up from the trail later, as after a crash
between them; without a head to catch up from (the first chained line) the failure is still the machine's (74)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest

from dreamcli import audit_chain
from dreamcli.audit import append_audit
from dreamcli.audit_chain import catch_up_head, head_path
from dreamcli.errors import EXIT_IOERR
from dreamcli.playbooks.audit_verify import verify_audit
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import cli, op, write_dream

DREAM = "01JD3Z0000AUDITHEADFULL0001"


@pytest.fixture
def full_head(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write of the head fails as on a full disk; every other write works."""
    monkeypatch.setattr(audit_chain, "atomic_write_text", _failing_head(audit_chain.atomic_write_text))


def test_an_approval_stands_when_only_its_head_cannot_be_written(ws: Workspace) -> None:
    append_audit(ws, "export", actor="a")  # written before the disk filled: a head to catch up from
    head = head_path(ws).read_text()
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001"), op("pb-aaaa0002", text="Another lesson.")], base_version=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(audit_chain, "atomic_write_text", _failing_head(audit_chain.atomic_write_text))
        r = cli(ws, "playbooks", "approve", DREAM, "-e", "pb-aaaa0001", "--yes")
        assert r.exit_code == 0, r.output
        append_audit(ws, "export", actor="b")  # the head two lines behind now
        assert not catch_up_head(ws)  # the recovery cannot move it yet, and does not fail the command
    assert head_path(ws).read_text() == head
    assert [json.loads(x)["action"] for x in ws.audit_path.read_text().splitlines()] == ["export", "approve",
                                                                                        "export"]
    r = cli(ws, "playbooks", "audit", "--verify", "--json")  # its recovery moves the head first
    assert r.exit_code == 0, r.output
    assert json.loads(head_path(ws).read_text())["lines"] == 3
    append_audit(ws, "export", actor="c")
    v = verify_audit(ws)
    assert v.ok and v.chained_lines == 4, v.to_json()


def test_without_a_head_the_full_disk_is_still_reported(ws: Workspace, full_head: None) -> None:
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001")], base_version=0)
    r = cli(ws, "playbooks", "approve", DREAM, "-e", "pb-aaaa0001", "--yes")
    assert r.exit_code == EXIT_IOERR, r.output
    assert f"no space left on device (writing {head_path(ws)})" in r.stderr


def test_any_other_failure_of_the_head_is_reported(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """No permission on state/ would stop every later head write too, and verify would then report each line
    after it: that is not a full disk the next write gets past, so the command says so (74), as before."""
    append_audit(ws, "export", actor="a")
    write_dream(ws, DREAM, "legal", [op("pb-aaaa0001")], base_version=0)
    monkeypatch.setattr(audit_chain, "atomic_write_text", _failing_head(audit_chain.atomic_write_text, errno.EACCES))
    with pytest.raises(PermissionError):
        append_audit(ws, "export", actor="b")
    with pytest.raises(PermissionError):
        catch_up_head(ws)


def _failing_head(write: Any, number: int = errno.ENOSPC) -> Any:
    """`atomic_write_text` failing as on a full disk (or with `number`) for the head only."""

    def failing(path: Path, text: str, **kw: Any) -> None:
        if path.name == audit_chain.HEAD_FILE:
            raise OSError(number, os.strerror(number), str(path))
        write(path, text, **kw)

    return failing
