"""A session file that cannot be read (`chmod 000`, as another user than root meets it): `sessions show`
says so in one line and exits 2, `sessions list` and `sessions reindex` name it as unreadable with the OS's
reason, not as corrupt, and the index lists it again once it can be read. Also: the second and later
lines of a multi-line tool result are indented under the first in `sessions show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from tests.support.unreadable import deny

pytestmark = pytest.mark.usefixtures("no_model")
LEAD = "01K0000000000000000000000A"
CHILD = "01K0000000000000000000000B"
TS = "2026-10-01T10:00:00.000Z"


def run(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args])


def line(sid: str, etype: str, seq: int, **fields: Any) -> str:
    return json.dumps({"v": 1, "type": etype, "ts": TS, "session_id": sid, "seq": seq, **fields})


def session(sid: str, *middle: tuple[str, dict[str, Any]], parent: str | None = None) -> str:
    lines = [line(sid, "session.start", 0, task={"name": "t", "prompt": "p"}, model="m", source="dreamcli", tags=[],
                  **({"parent_session_id": parent} if parent else {}))]
    lines += [line(sid, etype, i + 1, **fields) for i, (etype, fields) in enumerate(middle)]
    lines.append(line(sid, "session.end", len(lines), status="completed", totals={"turns": 1}))
    return "\n".join(lines) + "\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A workspace with a lead session (a multi-line tool result, a sub-agent) and its child."""
    home = tmp_path / "ws"
    assert run(home, "init").exit_code == 0
    day = home / "sessions" / "2026" / "10" / "01"
    day.mkdir(parents=True)
    (day / f"{LEAD}.jsonl").write_text(session(
        LEAD,
        ("message", {"role": "assistant", "content": [{"type": "tool_use", "id": "tu1", "name": "glob",
                                                       "input": {"pattern": "*.md"}}]}),
        ("message", {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1",
                                                  "content": "a.md\nb.md\n\nc.md"}]}),
        ("message", {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "is_error": True,
                                                  "content": "boom\nline two"}]}),
        ("subagent", {"event": "started", "child_session_id": CHILD, "brief": "look"})))
    (day / f"{CHILD}.jsonl").write_text(session(CHILD, parent=LEAD))
    return home


def _file(home: Path, sid: str) -> Path:
    return home / "sessions" / "2026" / "10" / "01" / f"{sid}.jsonl"


def test_show_of_an_unreadable_session_is_one_line_and_exit_2(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deny(monkeypatch, _file(home, CHILD))
    for args in (["sessions", "show", CHILD], ["sessions", "show", CHILD, "--json"],
                 ["sessions", "show", CHILD, "--html", "-"]):
        r = run(home, *args)
        assert r.exit_code == 2, r.output
        assert r.stderr == f"error: cannot read {_file(home, CHILD)}: Permission denied\n"
        assert r.stdout == ""


def test_a_lead_shows_with_its_unreadable_child_named(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deny(monkeypatch, _file(home, CHILD))
    r = run(home, "sessions", "show", LEAD, "--json")
    assert r.exit_code == 0, r.output
    (child,) = json.loads(r.stdout)["children"]
    assert child["status"] == "unreadable"
    assert child["error"] == f"cannot read {_file(home, CHILD)}: Permission denied"


@pytest.mark.parametrize("indexed", [False, True])
def test_list_names_the_file_as_unreadable_not_corrupt(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                       indexed: bool) -> None:
    index = home / "state" / "sessions-index.sqlite"
    if not indexed:
        index.unlink(missing_ok=True)  # the scan of the files
    deny(monkeypatch, _file(home, CHILD))
    (_file(home, LEAD).parent / "01K0000000000000000000000C.jsonl").write_text("not json\n")
    r = run(home, "sessions", "list")
    assert r.exit_code == 0, r.output
    assert LEAD in r.stdout and CHILD not in r.stdout
    notes = r.stderr.splitlines()
    assert notes == [f"note: 1 session file skipped (unreadable), e.g. {_file(home, CHILD)}: Permission denied",
                     "note: 1 session file skipped (corrupt or wrong-typed first line), e.g. "
                     f"{_file(home, LEAD).parent / '01K0000000000000000000000C.jsonl'}"]
    strict = run(home, "sessions", "list", "--strict")
    assert strict.exit_code == 1
    assert strict.stderr.startswith(f"error: 1 session file was skipped (unreadable), e.g. {_file(home, CHILD)}: "
                                    "Permission denied; 1 session file was skipped (corrupt")


def test_reindex_names_the_file_it_did_not_index_and_lists_it_once_readable(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deny(monkeypatch, _file(home, CHILD))
    r = run(home, "sessions", "reindex")
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith("Indexed 1 sessions")
    assert r.stderr.splitlines()[1] == (f"note: 1 session file skipped (unreadable), e.g. {_file(home, CHILD)}: "
                                        "Permission denied")
    data = json.loads(run(home, "sessions", "reindex", "--json").stdout)
    assert data["sessions"] == 1 and data["skipped_files"] == [str(_file(home, CHILD))]
    monkeypatch.undo()  # chmod 600: neither its size nor its modification time changed
    listed = run(home, "sessions", "list", "--json")
    assert listed.exit_code == 0 and listed.stderr == ""
    assert [s["session_id"] for s in json.loads(listed.stdout)["sessions"]] == [LEAD, CHILD]


def test_multi_line_tool_results_are_indented_under_their_first_line(home: Path) -> None:
    r = run(home, "sessions", "show", LEAD)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    at = lines.index("  ✓ a.md")
    assert lines[at:at + 4] == ["  ✓ a.md", "    b.md", "", "    c.md"]
    at = lines.index("  ✗ error boom")
    assert lines[at + 1] == "          line two"
