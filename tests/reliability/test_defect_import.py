"""Issue 21, defect 3: `sessions import` killed after its sessions were moved in but before its audit
record. The next command must audit them (once), and nothing may be left in staging."""

from __future__ import annotations

import json

import pytest

import dreamcli.audit as audit_mod
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.workspace.home import Workspace
from tests.support.paths import CLAUDE_CODE_SAMPLES
from tests.support.playbooks import audit


class Killed(BaseException):  # like SIGKILL: no handler catches it
    pass


def _die(*_a, **_k):
    raise Killed()


def test_import_killed_before_its_audit_record_is_audited_by_the_rerun(ws: Workspace,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(audit_mod, "append_audit", _die)
        with pytest.raises(Killed):
            import_transcripts(ws, "claude-code", CLAUDE_CODE_SAMPLES, workers=1)
    assert audit(ws) == []
    again = import_transcripts(ws, "claude-code", CLAUDE_CODE_SAMPLES, workers=1)
    assert again.sessions == 0 and again.already_imported == 4
    recs = [r for r in audit(ws) if r["action"] == "sessions-import"]
    assert sum(r["sessions"] for r in recs) == 4, recs
    assert any(r.get("recovered") for r in recs)
    # a third run finds nothing to recover and audits nothing new
    import_transcripts(ws, "claude-code", CLAUDE_CODE_SAMPLES, workers=1)
    assert sum(r["sessions"] for r in audit(ws) if r["action"] == "sessions-import") == 4
    staging = ws.state_dir / "import-staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert json.loads(ws.audit_path.read_text().splitlines()[0])["v"] == 1
