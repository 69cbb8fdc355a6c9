"""A secret value a rule found once is redacted wherever it recurs later in the session, bare
(dreamcli.redaction.recurring, wired into the session writer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.redaction import for_patterns
from dreamcli.redaction.recurring import RecurringSecrets, distinctive
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.redaction.support import AWS_SECRET, PASSWORD


def _logged(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _writer(tmp_path: Path, patterns: tuple[str, ...] = ()) -> SessionWriter:
    ws = Workspace(root=tmp_path / "ws", source="option")
    return SessionWriter(ws, redactor=for_patterns(patterns), path=tmp_path / "s.jsonl", fsync=False)


def test_a_value_found_by_its_name_is_redacted_bare_later(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    w.message("user", f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}")
    w.message("user", f"the key is {AWS_SECRET}, use it")  # no name around it: no rule matches
    w.tool(tool_use_id="t1", name="bash", input={"command": f"echo {AWS_SECRET} > key"})
    w.close()
    text = _logged(tmp_path / "s.jsonl")
    assert AWS_SECRET not in text
    second = json.loads(text.splitlines()[1])
    assert second["content"] == "the key is [REDACTED:aws_secret_key], use it"


def test_a_value_secret_by_its_key_and_in_the_same_event(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    w.message("user", "log in", credentials={"password": PASSWORD}, note=f"it is {PASSWORD}")
    w.message("assistant", f"I used {PASSWORD}")
    w.close()
    text = _logged(tmp_path / "s.jsonl")
    assert PASSWORD not in text
    assert text.count("[REDACTED:password]") == 3


def test_a_key_holding_the_value_becomes_its_marker(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    w.message("user", f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}")
    w.message("user", "x", table={AWS_SECRET: 1, "other": 2})
    w.close()
    last = json.loads(_logged(tmp_path / "s.jsonl").splitlines()[-1])
    assert last["table"] == {"[REDACTED:aws_secret_key]": 1, "other": 2}


def test_custom_patterns_are_remembered_and_short_values_are_not(tmp_path: Path) -> None:
    short, long = "ab12", "k7m2p9q4"
    w = _writer(tmp_path, (r"tok4-(?P<secret>\w{4})\b", r"tok8-(?P<secret>\w{8})\b"))
    w.message("user", f"tok4-{short} tok8-{long}")
    w.message("user", f"plain {short} and {long}")
    w.close()
    last = json.loads(_logged(tmp_path / "s.jsonl").splitlines()[-1])
    assert last["content"] == f"plain {short} and [REDACTED:custom]"


def test_words_a_key_made_secret_are_not_hunted_down(tmp_path: Path) -> None:
    """`POSTGRES_PASSWORD: "postgres"` redacts that value there; the word elsewhere stays."""
    w = _writer(tmp_path)
    w.message("user", "set up", env={"POSTGRES_PASSWORD": "postgres", "DB_PASSWORD": "localhost"})
    w.message("user", "psql -U postgres -h localhost; apt install postgresql-client")
    w.close()
    lines = _logged(tmp_path / "s.jsonl").splitlines()
    assert "postgres" not in lines[0]
    assert json.loads(lines[1])["content"] == "psql -U postgres -h localhost; apt install postgresql-client"


@pytest.mark.parametrize(("value", "remembered"), [
    ("hunter2hunter2", True), ("S3cr3t-Pass", True), (AWS_SECRET, True), ("Abcdefgh1", True),
    ("postgres", False), ("localhost", False), ("Required", False), ("12345678901", False), ("aaaaaaa1", False),
    ("short1", False),
])
def test_what_is_distinctive_enough_to_remember(value: str, remembered: bool) -> None:
    assert distinctive(value) is remembered


def test_a_value_inside_a_longer_word_is_left_alone(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    w.message("user", f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}")
    w.message("user", f"x{AWS_SECRET}y and ({AWS_SECRET})")
    w.close()
    last = json.loads(_logged(tmp_path / "s.jsonl").splitlines()[-1])
    assert last["content"] == f"x{AWS_SECRET}y and ([REDACTED:aws_secret_key])"


def test_each_session_remembers_its_own(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    first = SessionWriter(ws, path=tmp_path / "a.jsonl", fsync=False)
    second = SessionWriter(ws, path=tmp_path / "b.jsonl", fsync=False)
    first.message("user", f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}")
    second.message("user", f"bare {AWS_SECRET}")  # another session's secret: not known here
    first.close()
    second.close()
    assert AWS_SECRET in _logged(tmp_path / "b.jsonl")


def test_clean_data_is_returned_as_is() -> None:
    known = RecurringSecrets()
    redactor = for_patterns(())
    before = {"content": f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}"}
    known.learn(before, redactor.redact_obj(before), redactor)
    clean = {"content": ["nothing", {"here": 1}]}
    assert known.redact(clean) is clean
    assert not RecurringSecrets()
    assert known


def test_the_longest_known_value_is_replaced_whole() -> None:
    known = RecurringSecrets()
    redactor = for_patterns((r"p1=(?P<secret>\S+)", r"p2=(?P<secret>\S+)"))
    for text in ("p1=abcd-1234", "p2=abcd-1234-wxyz"):
        known.learn(text, redactor.redact_text(text), redactor)
    assert known.redact("x abcd-1234-wxyz y abcd-1234") == "x [REDACTED:custom] y [REDACTED:custom]"
