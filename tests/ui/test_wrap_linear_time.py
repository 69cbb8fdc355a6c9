"""Wrapping takes time linear in the text's length (issue: the CJK wrapper looked for a path from every
position of a run with no space to the end of the run, and checked every grapheme against every kept span:
`wrap("長" * 8000, 80)` took 2.1 s, 32 000 characters 41 s, 18 KB of minified JSON holding Japanese 10 s,
and `sessions show` of ten such 4 KB messages went from 0.34 s to 5.45 s). A loose bound, not a benchmark:
200 KB of either wraps well under a second on a laptop; the old wrapper needed minutes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from rich.cells import cell_len

from dreamcli.ui.prose import wrap
from dreamcli.ui.wrapping import hang_plain, wrap_para

BOUND_S = 2.0


def _minified_json(items: int) -> str:
    """Minified JSON holding Japanese, paths, dates and ids, as a tool or a model prints it."""
    return json.dumps({"items": [{"id": n, "title": "契約書レビュー", "status": "完了", "clause": "第3-2条",
                                  "due": "2024/01/15", "file": f"/srv/契約/v1.5/contract_v{n}.docx", "code": "`a b`"}
                                 for n in range(items)]}, ensure_ascii=False, separators=(",", ":"))


TEXTS = {"cjk": "長" * 70_000, "json": _minified_json(1300), "sentences": "契約書を確認してください。" * 5400}


def _timed(call: Callable[[], list[str]]) -> tuple[float, list[str]]:
    start = time.perf_counter()
    lines = call()
    return time.perf_counter() - start, lines


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TEXTS))
def test_200_kb_without_a_space_wraps_well_under_a_second(name: str) -> None:
    text = TEXTS[name]
    assert len(text.encode()) >= 200_000
    for call in (lambda: wrap(text, 80, hanging="    "), lambda: hang_plain(text, 80, 4),
                 lambda: wrap_para(text, 38, fold=True)):
        took, lines = _timed(call)
        assert took < BOUND_S, (name, took)
        assert len(lines) > 1000 and "".join(line.strip() for line in lines) == text
    assert max(cell_len(line) for line in wrap(text, 80, hanging="    ")) <= 80
