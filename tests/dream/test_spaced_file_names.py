"""A file name with spaces is one name (review-dream defect 6, the legal story): "Master Services
Agreement.doc" in a failing call's message is masked whole (as `<file.doc>`, not as `Master Services
<file.doc>`), and a quoted or backslash-escaped name in a shell command is one target, so the failure
pairs with the command that fixed it and the sessions with spaced names count with the others."""

from __future__ import annotations

import pytest

from dreamcli.dream.text import error_template, generic_display, mask, targets
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession, dream, entry_texts

pytestmark = pytest.mark.usefixtures("no_model")

SPACED = ["Master Services Agreement.doc", "NDA Globex 2019.doc", "Lease - Initech.doc", "Supply Agreement v2.doc"]


def _unreadable(name: str) -> str:
    return f"read: {name}: not valid UTF-8 text (only images and PDFs are read as binary)"


@pytest.mark.parametrize("command", [
    'soffice --headless --convert-to docx "Master Services Agreement.doc"',
    "soffice --headless --convert-to docx 'Master Services Agreement.doc'",
    "soffice --headless --convert-to docx Master\\ Services\\ Agreement.doc",
    'cd contracts && soffice --convert-to docx --outdir out "Master Services Agreement.doc"',
])
def test_a_quoted_or_escaped_name_with_spaces_is_one_target(command: str) -> None:
    found = targets("bash", {"command": command})
    assert "Master Services Agreement.doc" in found
    assert "Agreement.doc" not in found
    assert found & targets("read", {"file_path": "Master Services Agreement.doc"})


def test_only_a_quoted_file_name_is_taken_whole() -> None:
    for command, expected in [
        ('python "tools/convert.py" in.doc "Q3 report.pdf"', {"tools/convert.py", "in.doc", "Q3 report.pdf"}),
        ("bash -c 'cat notes.txt && wc -l out.txt'", {"notes.txt", "out.txt"}),  # a script, not a name
        ("grep -rn 'no such file' logs/app.log", {"logs/app.log"}),  # quoted words with no extension
        ("sed -i 's/old text/new text/' notes.txt", {"notes.txt"}),
    ]:
        found = targets("bash", {"command": command})
        assert expected <= found and not any(" " in t for t in found - expected), command


def test_a_spaced_name_is_masked_whole_in_the_calls_message() -> None:
    plain = error_template(_unreadable("msa-acme.doc"), targets("read", {"file_path": "msa-acme.doc"}))
    for name in SPACED:
        assert error_template(_unreadable(name), targets("read", {"file_path": name})) == plain
    nested = "contracts/2019/NDA Globex 2019.doc"
    assert error_template(_unreadable(nested), targets("read", {"file_path": nested})) == plain
    assert mask("cannot open Master\\ Services\\ Agreement.doc: permission denied") == \
        "cannot open <file.doc>: permission denied"


def test_the_fix_shown_for_a_spaced_name_is_generic() -> None:
    failed = targets("read", {"file_path": "Master Services Agreement.doc"})
    assert generic_display('soffice --headless --convert-to docx "Master Services Agreement.doc"', failed) == \
        'soffice --headless --convert-to docx "FILE.doc"'
    assert generic_display("soffice --convert-to docx Master\\ Services\\ Agreement.doc", failed) == \
        "soffice --convert-to docx FILE.doc"


def test_spaced_names_make_one_pattern_paired_with_its_fix(ws: Workspace) -> None:
    for hour, name in enumerate(SPACED):
        s = RawSession(ws, hour, prompt=f"Summarise {name}")
        s.call("read", {"file_path": name}, _unreadable(name), error=True)
        s.call("bash", {"command": f'soffice --headless --convert-to docx "{name}"'}, "convert ok")
        s.say("ok")
        s.end()

    texts = entry_texts(dream(ws))

    assert len(texts) == 1, texts
    assert 'convert it first with `soffice --headless --convert-to docx "FILE.doc"`' in texts[0]
    assert "worked in 4 of 4 sessions" in texts[0]


def test_spaced_and_plain_names_count_together(ws: Workspace) -> None:
    names = ["msa-acme.doc", "nda_globex_2019.doc", "lease-initech.doc", "supply agreement v2.doc"]
    for hour, name in enumerate(names):
        s = RawSession(ws, hour, prompt=f"Summarise {name}")
        s.call("read", {"file_path": name}, _unreadable(name), error=True)
        s.call("bash", {"command": f"soffice --headless --convert-to docx '{name}'"}, "convert ok")
        s.say("ok")
        s.end()

    result = dream(ws)

    texts = entry_texts(result)
    assert len(texts) == 1 and "worked in 4 of 4 sessions" in texts[0], texts
    assert result["operations"][0]["support"]["sessions"] == 4
