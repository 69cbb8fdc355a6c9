"""A session imported by an earlier dreamcli, whose transcript grew since (docs/importers.md, "Importing
again"). Before the copy check, the importer read a line Claude Code wrote twice as it came (a second
message, or the line's blocks again in its message) and zeroed a usage of strings; the conversion of the
grown file now drops those copies and that usage, so the stored messages are not, to the letter, its first
ones. The stored session is replaced all the same; a transcript that was rewritten still keeps its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dreamcli.sessions.importers.claude_code as claude_code
from dreamcli.sessions.importers.builder import USAGE_KEYS
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import read_events
from dreamcli.workspace.home import Workspace
from tests.sessions.test_import_claude_code import round_trip
from tests.support.transcripts import ClaudeSession


def _session() -> ClaudeSession:
    return round_trip("up-1")


def _first_part(s: ClaudeSession) -> list[str]:
    """The transcript as it was imported: the call written twice in a row, its result twice in a row, the call
    once more after its result, and an answer whose usage is strings."""
    prompt, call, result, answer = s.lines[:4]
    odd = json.loads(answer)
    odd["message"]["usage"] = {k: str(v) for k, v in odd["message"]["usage"].items()}
    return [prompt, call, call, result, result, call, json.dumps(odd)]


def _grown(s: ClaudeSession, first: list[str]) -> list[str]:
    s.user("Now run the whole suite")
    s.assistant([{"type": "text", "text": "All 212 tests pass."}])
    return [*first, *s.lines[4:]]


def _old_usage(raw: Any) -> tuple[dict[str, int] | None, bool]:
    """The usage the importer read before the copy check: the four counters, 0 for what is not an int."""
    if not isinstance(raw, dict):
        return None, False
    return {k: raw[k] if isinstance(raw.get(k), int) and raw[k] >= 0 else 0 for k in USAGE_KEYS}, False


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _stored(ws: Workspace) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in iter_session_files(ws)}


def _messages(ws: Workspace) -> list[dict[str, Any]]:
    [path] = iter_session_files(ws)
    events, _ = read_events(path)
    return [e for e in events if e["type"] == "message"]


def _import_as_before(monkeypatch: pytest.MonkeyPatch, ws: Workspace, src: Path) -> str:
    with monkeypatch.context() as m:
        m.setattr(claude_code, "copy_mark", lambda obj: None)
        m.setattr(claude_code, "read_usage", _old_usage)
        first = import_transcripts(ws, "claude-code", src, workers=1)
    assert dict(first.statuses) == {"completed": 1}
    [sid] = first.session_ids
    return sid


def test_a_session_imported_before_the_copy_check_is_updated_when_it_grew(
        tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    s = _session()
    first = _first_part(s)
    path = tmp_path / "src" / "up-1.jsonl"
    _write(path, first)
    sid = _import_as_before(monkeypatch, ws, tmp_path / "src")
    old = _messages(ws)
    assert len(old) == 6 and len(old[1]["content"]) == 2  # the copies as that importer read them
    assert old[-1]["usage"] == dict.fromkeys(USAGE_KEYS, 0)
    _write(path, _grown(s, first))
    again = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    assert (again.updated, again.updated_session_ids, again.changed_since_import) == (1, [sid], 0)
    fresh = Workspace(root=tmp_path / "fresh", source="option")
    import_transcripts(fresh, "claude-code", tmp_path / "src", workers=1)
    assert _stored(ws) == _stored(fresh)  # as a first import of the grown file writes it
    assert [m["role"] for m in _messages(ws)] == ["user", "assistant", "user", "assistant", "user", "assistant"]


def _replace(old: str, new: str) -> Callable[[list[str]], list[str]]:
    return lambda lines: [line.replace(old, new) for line in lines]


REWRITES = {
    "the answer": _replace("Fixed: the parser skipped blank lines.", "Fixed: the lexer skipped blank lines."),
    "the prompt": _replace("Fix the failing parser test", "Fix the failing lexer test"),
    "the call, written three times": _replace('"command":"pytest -q"', '"command":"pytest -x"'),
    "its result, written twice": _replace("1 failed", "2 failed"),
    "the result cut out": lambda lines: [line for line in lines if "1 failed" not in line],
}


@pytest.mark.parametrize("rewrite", REWRITES.values(), ids=REWRITES.keys())
def test_a_rewritten_transcript_imported_before_the_copy_check_keeps_its_session(
        tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch,
        rewrite: Callable[[list[str]], list[str]]) -> None:
    s = _session()
    first = _first_part(s)
    path = tmp_path / "src" / "up-1.jsonl"
    _write(path, first)
    _import_as_before(monkeypatch, ws, tmp_path / "src")
    before = _stored(ws)
    rewritten = rewrite(first)
    assert rewritten != first
    _write(path, _grown(s, rewritten))
    again = import_transcripts(ws, "claude-code", tmp_path / "src", workers=1)
    assert (again.updated, again.changed_since_import) == (0, 1)
    assert _stored(ws) == before
