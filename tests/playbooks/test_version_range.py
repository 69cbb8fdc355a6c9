"""A playbook's `version` is a number its history file can be named after (`v<N>.md`, N of at most
HISTORY_DIGITS digits): a larger one is refused where the front matter is parsed, with file, line and
field, and a commit that would pass the last such version writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamcli.errors import InputError
from dreamcli.playbooks import parse_playbook
from dreamcli.playbooks.store import HISTORY_DIGITS, HISTORY_FILE_RE, commit_playbook, read_live
from dreamcli.workspace.home import Workspace

LARGEST = 10**HISTORY_DIGITS - 1


def _text(version: str) -> str:
    return f"---\nname: x\nversion: {version}\n---\n\n## S\n\n- [pb-aaaaaa] a\n"


def test_the_largest_version_parses_and_names_a_history_file() -> None:
    assert parse_playbook(_text(str(LARGEST))).version == LARGEST
    assert HISTORY_FILE_RE.fullmatch(f"v{LARGEST}.md")


@pytest.mark.parametrize("version", [str(LARGEST + 1), "1234567890", "9" * 23, "1" + "0" * 400])
def test_a_longer_version_is_refused_naming_file_line_and_field(version: str) -> None:
    with pytest.raises(InputError) as info:
        parse_playbook(_text(version), file="playbooks/x.md")
    err = info.value
    assert (err.file, err.line, err.field) == ("playbooks/x.md", 3, "version")
    assert str(err).startswith("playbooks/x.md:3: version: ")
    assert f"at most {HISTORY_DIGITS} digits" in str(err) and version not in str(err)


def test_a_commit_past_the_largest_version_writes_nothing(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    ws.ensure()
    ws.playbooks_dir.mkdir(parents=True)
    live = ws.playbooks_dir / "x.md"
    live.write_text(_text(str(LARGEST)))
    pb, text = read_live(ws, "x")
    assert pb is not None
    with pytest.raises(InputError, match="would not parse back"):
        commit_playbook(ws, pb, expected_text=text)
    assert live.read_text() == _text(str(LARGEST))
    assert not ws.playbook_history_dir.exists() or not any(ws.playbook_history_dir.rglob("*.md"))
