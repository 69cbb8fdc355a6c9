"""The review commands print untrusted text (proposal fields, evidence, reviewer names, audit lines) as
text: Rich markup in it is never parsed, terminal control sequences never reach the terminal raw, and
odd values (wrong-typed `entry_ids`, evidence nested too deep) are never an internal error."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dreamcli.ui import console
from tests.support.playbooks import cli, op, workspace, write_dream, write_playbook

DREAM = "01JD3Z0000000000000000UNT1"
SEQUENCES = ["\x1b]0;TITLE\x07", "\x1b[2J", "\x1b[1A\x1b[2K", "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\"]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages and views take their terminal path (colour and markup on), as on a real terminal."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(console, "_color_allowed", lambda stream: True)
    console._cache.clear()
    yield
    console._cache.clear()


def _exe() -> str:
    return shutil.which("dreamcli") or str(Path(sys.executable).parent / "dreamcli")


def _pty(*argv: str) -> tuple[int, str]:
    """Run a command with stdin, stdout and stderr on a pseudo-terminal; (exit code, output)."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.Popen([_exe(), *argv], stdin=slave, stdout=slave, stderr=slave,
                            env={**env, "COLUMNS": "120", "DREAMCLI_ACTOR": "tester"}, close_fds=True)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    return proc.wait(timeout=60), data.decode("utf-8", "replace")


def test_show_a_name_holding_markup_on_a_terminal_is_a_one_line_error(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    code, output = _pty("--home", str(ws.root), "playbooks", "show", "[/]x")
    assert "Traceback" not in output and "internal error" not in output, output
    assert code == 2 and "[/]x" in output, output


def test_bad_metadata_holding_markup_on_a_terminal(tmp_path: Path, terminal: None) -> None:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    path = ws.playbooks_dir / "legal.md"
    path.write_text(path.read_text() + "- [pb-bbbbbb02] Another.\n  <!-- dc: [/]x helpful=0 -->\n")
    r = cli(ws, "playbooks", "show", "legal")
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "bad metadata" in r.output and "[/]x" in r.output, r.output
    assert "internal error" not in r.output


def test_a_proposal_with_markup_in_its_op_warns_on_a_terminal(tmp_path: Path, terminal: None) -> None:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    write_dream(ws, DREAM, "legal", [op("pb-new00001", kind="[/]")])
    r = cli(ws, "playbooks", "list")
    assert r.exit_code == 0, (r.output, r.exception)
    assert "warning" in r.output and "[/]" in r.output


def _approve(ws: object, reviewer: str) -> None:
    r = cli(ws, "playbooks", "approve", DREAM, "--entry", "pb-new00001", "--yes", "--reviewer", reviewer)
    assert r.exit_code == 0, r.output


def test_verify_prints_a_chain_note_holding_markup(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    write_dream(ws, DREAM, "legal", [op("pb-new00001")])
    _approve(ws, "alice")
    lines = ws.audit_path.read_text().splitlines()
    lines[-1] = lines[-1][:-1] + ',"chain_note":"[/]"}'
    ws.audit_path.write_text("\n".join(lines) + "\n")
    r = cli(ws, "playbooks", "audit", "--verify")
    assert r.exit_code == 1, r.output  # the edited line breaks the head: reported, not an internal error
    assert "internal error" not in r.output and "[/]" in r.output


@pytest.mark.parametrize("ids", [[5, 6], {"a": 1}, 7])
def test_audit_listing_with_wrong_typed_entry_ids(tmp_path: Path, ids: object) -> None:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    write_dream(ws, DREAM, "legal", [op("pb-new00001")])
    _approve(ws, "alice")
    good = ws.audit_path.read_text()
    bad = json.loads(good.splitlines()[-1]) | {"entry_ids": ids, "actor": "mallory"}
    ws.audit_path.write_text(good + json.dumps(bad) + "\n")
    r = cli(ws, "playbooks", "audit")
    assert r.exit_code == 0, r.output
    assert "alice" in r.stdout  # the readable records are listed
    assert "mallory" not in r.stdout  # a record with a wrong-typed field is skipped (--verify reports it)
    r = cli(ws, "playbooks", "audit", "--json")
    assert r.exit_code == 0 and [rec["actor"] for rec in json.loads(r.stdout)["records"]] == ["alice"]


@pytest.mark.parametrize("reviewer", ["eve\x1b[2J\x1b]0;TITLE\x07", "eve\nfake row", "eve\x1b[1A\x1b[2Kx"])
def test_reviewer_names_with_controls_stay_on_their_row(tmp_path: Path, reviewer: str) -> None:
    """--reviewer refuses such a name; a hand-edited trail (or an older dreamcli) may still hold one."""
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    write_dream(ws, DREAM, "legal", [op("pb-new00001")])
    _approve(ws, "alice")
    rec = json.loads(ws.audit_path.read_text()) | {"actor": reviewer}
    ws.audit_path.write_text(json.dumps(rec) + "\n")
    for args in (["playbooks", "audit"], ["playbooks", "history", "legal"]):
        r = cli(ws, *args)
        assert r.exit_code == 0, r.output
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", r.stdout), repr(r.stdout)
        assert not any(line.startswith("fake") for line in r.stdout.splitlines())


@pytest.mark.parametrize("seq", SEQUENCES)
def test_diff_never_prints_control_sequences(tmp_path: Path, seq: str) -> None:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    write_dream(ws, DREAM, "legal", [op("pb-new00001", text=f"Lesson {seq} text.", reason=f"why {seq}",
                                        section=f"Sec{seq}", evidence=[{"session_id": "01JD0Q8Z3V6M4T2N8K5R7W9XAB",
                                                                         "seq": 1, "excerpt": f"ran {seq} it"}])])
    r = cli(ws, "playbooks", "diff")
    assert r.exit_code == 0, r.output
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", r.stdout), repr(r.stdout)
    assert "\\x1b" in r.stdout  # shown, visibly


def test_diff_json_with_evidence_nested_too_deep(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    write_playbook(ws, "legal", [("pb-aaaaaa01", "Tools", "Use pandoc for docx.")])
    deep: object = []
    for _ in range(300):
        deep = [deep]
    ev = {"session_id": "01JD0Q8Z3V6M4T2N8K5R7W9XAB", "seq": 1, "excerpt": "ran it", "deep": deep, "ok": {"a": 1}}
    write_dream(ws, DREAM, "legal", [op("pb-new00001", evidence=[ev])])
    r = cli(ws, "playbooks", "diff", DREAM, "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)["dreams"][0]["operations"][0]["evidence"][0]
    assert got["excerpt"] == "ran it" and got["ok"] == {"a": 1}
    assert isinstance(got["deep"], str) and "too deep" in got["deep"]
