"""A name typed on a keyboard (composed, NFC) and the same name as macOS writes it (a letter and a
combining accent, NFD) look the same and are one name: `sessions list --task` (from the scan and from
the index), a dream's `--task` and playbook scope, `playbooks audit --actor`."""

from __future__ import annotations

import json
import unicodedata

import pytest

from dreamcli.dream.selection import make_scope
from dreamcli.textnorm import nfc, same_name
from dreamcli.workspace.home import Workspace
from tests.support.outcomes import make_session
from tests.support.playbooks import cli, op, write_dream, write_playbook

TASK_NFC = unicodedata.normalize("NFC", "résumé-review")
TASK_NFD = unicodedata.normalize("NFD", "résumé-review")
ACTOR_NFC = unicodedata.normalize("NFC", "José Müller")
ACTOR_NFD = unicodedata.normalize("NFD", "José Müller")
DREAM = "01JD3Z0000000000000000DRM1"


def test_the_two_forms_differ_as_strings_and_are_one_name() -> None:
    assert TASK_NFC != TASK_NFD and nfc(TASK_NFD) == TASK_NFC
    assert same_name(TASK_NFD, TASK_NFC) and not same_name(TASK_NFD, "resume-review")
    assert not same_name(None, TASK_NFC)


@pytest.mark.parametrize("indexed", [False, True])
def test_sessions_list_task_finds_either_form(bare_ws: Workspace, indexed: bool) -> None:
    make_session(bare_ws, task=TASK_NFD)
    make_session(bare_ws, task=TASK_NFC)
    make_session(bare_ws, task="other")
    if indexed:
        assert cli(bare_ws, "sessions", "reindex").exit_code == 0
    for typed in (TASK_NFC, TASK_NFD):
        r = cli(bare_ws, "sessions", "list", "--task", typed, "--json")
        assert r.exit_code == 0, r.output
        assert len(json.loads(r.stdout)["sessions"]) == 2


def test_a_dream_scope_and_task_match_either_form() -> None:
    start = {"task": {"name": TASK_NFD}, "playbooks": []}
    assert make_scope("legal", None, TASK_NFC)(start)
    scoped = type("P", (), {"scope": {"tasks": [TASK_NFC]}})()
    assert make_scope("legal", scoped, None)(start)
    assert not make_scope("legal", scoped, None)({"task": {"name": "other"}, "playbooks": []})


def test_audit_actor_finds_approvals_in_either_form(ws: Workspace) -> None:
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")], version=1)
    write_dream(ws, DREAM, "legal", [op("pb-new00001", text="Convert .docx with pandoc before reading.",
                                        section="Tools")])
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-new00001", "--yes", "--actor", ACTOR_NFD)
    assert r.exit_code == 0, r.output
    for typed in (ACTOR_NFC, ACTOR_NFD):
        records = json.loads(cli(ws, "playbooks", "audit", "--actor", typed, "--json").stdout)["records"]
        assert [rec["entry_ids"] for rec in records] == [["pb-new00001"]]
