"""`playbooks diff` and the interactive `playbooks approve` with Japanese text (issue: the side-by-side
columns were sized, padded and cut by code points, so a CJK line took up to 109 columns at 80 and the `│`
separator moved on every CJK line; evidence lines holding `résumé-契約.docx` took 83). Now every line fits
the width in terminal cells, on a pipe (COLUMNS=80) and on a terminal, and the `│` of every row sits in
the same column."""

from __future__ import annotations

import io
import re
import sys
from typing import Any

import pytest
from rich.cells import cell_len

from dreamcli.ui import console
from dreamcli.ui.playbooks_view import render_diff, show_item

SGR = re.compile(r"\x1b\[[0-9;]*m")
JA = ("契約書 résumé デジタル は `unzip -p FILE.docx word/document.xml` で読む。" + "長" * 40
      + " 解除条項は条項番号で引用し、ページ番号は使わない。👩‍⚕️ 🇯🇵 https://example.com/" + "パス/" * 12)
EVIDENCE = "Read(file_path=/home/legal/matters/résumé-契約.docx) -> résumé-契約.docx: not valid UTF-8 text"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _item(change: str, old: str | None, new: str | None) -> dict[str, Any]:
    return {"change": change, "target": "playbook", "entry_id": "pb-0fpps7yr", "section": "ファイル形式",
            "old_text": old, "new_text": new, "support": {"sessions": 3, "total_sessions": 3},
            "reason": "繰り返し発生する失敗で、同じ回避策が三回とも効いた。" * 3,
            "evidence": [{"session_id": "01M7W2YB6A07579YRAQEFCVX21", "seq": 4, "excerpt": EVIDENCE}]}


def _dream(*items: dict[str, Any]) -> dict[str, Any]:
    return {"dream_id": "01M99HBX5HG60MZR1MW41QSEH6", "playbook": "default", "live_version": 1, "base_version": 1,
            "status": "pending", "tokens_now": 146, "tokens_after": 300, "operations": list(items), "lint": []}


def _stream(monkeypatch: pytest.MonkeyPatch, name: str, *, tty: bool, columns: int) -> io.StringIO:
    stream: io.StringIO = _Tty() if tty else io.StringIO()
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys, name, stream)
    monkeypatch.setattr(console, "_cache", {})
    return stream


def _check(text: str, columns: int) -> list[str]:
    lines = SGR.sub("", text).splitlines()
    assert max(cell_len(line) for line in lines) <= columns, [line for line in lines if cell_len(line) > columns]
    rows = [line for line in lines if "│" in line]
    assert len(rows) > 5
    bars = {cell_len(line[:line.index("│")]) for line in rows}
    assert bars == {(columns - 5) // 2 + 3}, rows  # one column for every row's separator
    return lines


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("columns", [80, 60])
def test_diff_of_japanese_text_fits_and_lines_up(monkeypatch: pytest.MonkeyPatch, tty: bool, columns: int) -> None:
    stream = _stream(monkeypatch, "stdout", tty=tty, columns=columns)
    render_diff([_dream(_item("changed", JA[:60], JA), _item("added", None, JA))])
    lines = _check(stream.getvalue(), columns)
    words = " ".join(lines)
    assert "👩‍⚕️" in words and "🇯🇵" in words and "résumé-契約.docx" in words  # no grapheme or file name split
    assert not any(line.lstrip().startswith(("。", "、")) for line in lines)


def test_the_approve_prompt_item_fits_and_lines_up(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _stream(monkeypatch, "stderr", tty=True, columns=80)
    monkeypatch.setattr("dreamcli.ui.playbooks_view._width", lambda: 80)
    show_item(_dream(), _item("counts", JA, None) | {"metadata": {"helpful": 3}})
    show_item(_dream(), _item("changed", JA, JA.replace("長", "短")))
    _check(stream.getvalue(), 80)
