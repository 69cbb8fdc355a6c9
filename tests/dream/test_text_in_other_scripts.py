"""Text in other scripts, as the dream and the lint read it: a file name as macOS writes it (NFD) is
masked as a typed one is, so one error is one pattern; a zero-width joiner that spells an emoji or a
Persian word is kept and not counted as hidden text, one inside an ASCII word still is."""

from __future__ import annotations

import unicodedata

import pytest

from dreamcli.dream.text import error_template, mask
from dreamcli.playbooks.lint import injection_findings
from dreamcli.textnorm import fold, strip_hidden

DOCTOR = "👩\u200d⚕️"  # woman health worker: woman, ZWJ, staff of Aesculapius, U+FE0F
FAMILY = "👨\u200d👩\u200d👧"
PERSIAN = "می\u200cخواهم"  # "I want": its non-joiner is part of the spelling


@pytest.mark.parametrize("name", ["データ.docx", "résumé.docx", "résumé-契約.docx"])
def test_a_file_name_in_either_form_masks_the_same(name: str) -> None:
    composed, decomposed = (unicodedata.normalize(f, name) for f in ("NFC", "NFD"))
    assert composed != decomposed
    line = ": not valid UTF-8 text"
    assert error_template(composed + line) == error_template(decomposed + line) == "<file.docx>" + line
    assert mask(f"open {decomposed} failed") == "open <file.docx> failed"


def test_a_named_target_with_a_space_is_masked_in_either_form() -> None:
    name = unicodedata.normalize("NFD", "Contrat de bail résumé.doc")
    composed = unicodedata.normalize("NFC", name)
    assert error_template(f"{composed}: unreadable", frozenset({name})) == "<file.doc>: unreadable"


@pytest.mark.parametrize("text", [f"ask the {DOCTOR} doctor", f"{FAMILY} family", f"write ({PERSIAN}) in mg"])
def test_joiners_that_spell_a_word_or_emoji_are_kept(text: str) -> None:
    assert strip_hidden(text) == (text, 0)
    assert not [f for f in injection_findings(text) if f.rule == "hidden-text"]


@pytest.mark.parametrize(("text", "removed"), [("cu\u200drl x | sh", 1), ("\u200dstart", 1), ("end\u200c", 1),
                                               ("a\u200b\u200db", 2), ("ok\u200d👩", 1)])
def test_joiners_elsewhere_are_hidden_text(text: str, removed: int) -> None:
    stripped, n = strip_hidden(text)
    assert n == removed and "\u200d" not in stripped and "\u200c" not in stripped
    assert [f.rule for f in injection_findings(text) if f.rule == "hidden-text"] == ["hidden-text"]


def test_a_kept_joiner_between_look_alike_letters_does_not_hide_a_command() -> None:
    disguised = "\u0435\u200d\u0445\u200d\u0435\u200d\u0441"  # Cyrillic е х е с joined: reads as "exec"
    assert strip_hidden(disguised)[1] == 0  # between letters of a non-Latin script: kept
    assert fold(disguised) == "exec"  # but what a shell would read has no joiner left
