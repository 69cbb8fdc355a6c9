"""`contains` and `regex` compare text in Unicode's composed form: the same word written with a
combining accent (as macOS writes file names) or precomposed matches either way."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from dreamcli.outcomes.checks import run_check
from dreamcli.outcomes.evidence import RunView
from dreamcli.outcomes.spec import load_spec
from tests.support.outcomes import write_spec

NFC = unicodedata.normalize("NFC", "résumé データ")
NFD = unicodedata.normalize("NFD", "résumé データ")


def _outcome(tmp_path: Path, kind: str, value: str, written: str) -> tuple[bool | None, str]:
    wd = tmp_path / "wd"
    wd.mkdir(exist_ok=True)
    (wd / "summary.md").write_text(f"The {written} is attached.\n", encoding="utf-8")
    spec = load_spec(write_spec(tmp_path / "c.yaml", f"name: c\ncriteria:\n  - id: c\n    check: "
                                                    f"{{type: {kind}, in: summary.md, value: '{value}'}}\n"))
    check = spec.criteria[0].check
    assert check is not None
    run = RunView(session_id="S", workdir=str(wd), final_answer="done", turns=1, cost_usd=0.0, tool_errors=0,
                  status="completed")
    passed, reason, _evidence = run_check(check, run)
    return passed, reason


@pytest.mark.parametrize("kind", ["contains", "regex"])
@pytest.mark.parametrize(("value", "written"), [(NFC, NFD), (NFD, NFC), (NFC, NFC)])
def test_the_same_word_in_either_form_is_found(tmp_path: Path, kind: str, value: str, written: str) -> None:
    assert NFC != NFD
    passed, reason = _outcome(tmp_path, kind, value, written)
    assert passed is True, reason


def test_a_different_word_is_still_not_found(tmp_path: Path) -> None:
    passed, reason = _outcome(tmp_path, "contains", unicodedata.normalize("NFD", "resume"), NFD)
    assert passed is False and "does not contain" in reason


@pytest.mark.parametrize("cid", ["条項番号で引用", "résumé-mentioned", "cite\\n"])
def test_a_criterion_id_says_it_takes_ascii_letters_only(tmp_path: Path, cid: str) -> None:
    from dreamcli.errors import DreamError

    path = write_spec(tmp_path / "c.yaml", f'name: c\ncriteria:\n  - id: "{cid}"\n    check: '
                                           "{type: contains, value: x}\n")
    with pytest.raises(DreamError, match=r"ASCII letters \(a-z, A-Z\)"):
        load_spec(path)
