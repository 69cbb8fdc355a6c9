"""Prose in Japanese wraps (issue: the shared wrapper broke only at spaces, so a Japanese dream entry, a
`playbooks show` entry or a `sessions show` message, which have none, printed 180 to 290 columns on an
80-column terminal and the terminal folded them to column 0, losing the hanging indent). A line may now
break between two CJK characters (not before `。` or a small kana, not after `「`), widths are terminal
cells, and no break splits a grapheme, a path, a file name, an id or a code span that fits."""

from __future__ import annotations

import io
import unicodedata

import pytest
from rich.cells import cell_len
from rich.console import Console

from dreamcli.ui.prose import print_hanging, wrap
from dreamcli.ui.wrapping import hang_plain

SENTENCE = "契約書をレビューするときは、必ず条項番号で引用し、「第三条」のように書いてください。"
FAMILY = "👨‍👩‍👧‍👦"


def _fits(lines: list[str], width: int, hanging: str) -> None:
    assert len(lines) > 1, lines
    assert all(cell_len(line) <= width and line == line.rstrip() for line in lines), lines
    assert all(line.startswith(hanging) and line[len(hanging)] != " " for line in lines[1:]), lines
    assert not any(line.strip().startswith(("。", "、", "」", "ー", "ょ")) for line in lines), lines
    assert not any(line.rstrip().endswith("「") for line in lines), lines


@pytest.mark.parametrize("width", [80, 40])
def test_japanese_prose_wraps_with_its_hanging_indent(width: int) -> None:
    text = "add     pb-3f9k2xab  " + SENTENCE * 4
    lines = wrap(text, width, hanging="    ")
    _fits(lines, width, "    ")
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost, nothing added


def test_paths_file_names_dates_ids_and_code_spans_stay_whole() -> None:
    """A line breaks inside a word only between two CJK characters: the ASCII part of a path, a file name, a
    date or an id is never at a break (a code span that fits stays whole, its Japanese too)."""
    whole = ["/home/legal/matters/résumé-2024.docx", "contract_v2.docx", "review-grade", "2024/01/15", "v1.5",
             "https://example.com/契約/a", "`cat 契約 書類.txt`"]
    text = "ファイル" + "を開いて確認してください。".join(whole) + "を確認する。" + SENTENCE * 2
    for width in range(24, 61, 3):
        lines = wrap(text, width, indent="  ", hanging="    ")
        assert all(any(w.split("契約")[0] in line for line in lines) for w in whole), (width, lines)
        assert any("`cat 契約 書類.txt`" in line for line in lines), (width, lines)


CLAUSE = ("契約書を確認するときは{comma}必ず社内で承認された最新の版である{id}に定める"
          "解除権の行使要件と通知期限を必ず条項番号とともに引用してください。")


@pytest.mark.parametrize("comma", ["、", ""])
@pytest.mark.parametrize("ident", ["第3-2条", "2024/01/15", "contract_v2", "v1.5", "a\\b", "x.docx"])
def test_a_japanese_clause_holding_an_id_still_wraps(comma: str, ident: str) -> None:
    """Issue: `-`, `_`, `/` or `x.y` anywhere in a clause made the whole run up to the next 、 or 。 a path or
    an id kept whole: 24 and 85 columns at 80, one line of 145 columns at 40. Only its ASCII part is kept."""
    text = CLAUSE.format(comma=comma, id=ident)
    for width in (80, 60, 40, 30):
        lines = wrap(text, width, hanging="    ")
        assert all(cell_len(line) <= width for line in lines), (width, lines)
        assert any(ident in line for line in lines), (width, lines)
        assert "".join(line.strip() for line in lines) == text


def test_no_break_splits_a_grapheme() -> None:
    nfd = unicodedata.normalize("NFD", "データベースのバックアップ")  # テ + U+3099, as macOS writes names
    text = (nfd + FAMILY + "🇯🇵" + "한국어" + unicodedata.normalize("NFD", "한국어")) * 6
    lines = hang_plain(text, 30, 4)
    assert all(cell_len(line) <= 30 for line in lines), lines
    assert not any(unicodedata.combining(line.strip()[0]) or line.strip()[0] in "\u200d\u1161\u11ab"
                   for line in lines[1:]), lines
    assert "".join(line.strip() for line in lines) == text  # every family and flag whole, in order


def test_a_show_view_on_a_40_column_terminal_wraps_japanese() -> None:
    buf = io.StringIO()
    con = Console(file=buf, width=40, force_terminal=True, color_system=None)
    print_hanging(con, "  [cyan]pb-0fpps7yr[/]  " + "長" * 60 + SENTENCE)
    lines = buf.getvalue().splitlines()
    _fits(lines, 40, "    ")


def test_ascii_prose_wraps_as_before() -> None:
    """A guard, not the issue: text with spaces breaks where it did, a code span that fits whole."""
    text = "When `read` fails on a `.pdf` file, convert it first with `pdftotext -layout FILE.pdf -`; " * 2
    assert wrap(text, 60, hanging="  ") == [
        "When `read` fails on a `.pdf` file, convert it first with",
        "  `pdftotext -layout FILE.pdf -`; When `read` fails on a",
        "  `.pdf` file, convert it first with",
        "  `pdftotext -layout FILE.pdf -`;"]
