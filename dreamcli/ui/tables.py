"""Tables that degrade by design: at the terminal's width (or COLUMNS) they keep the important
columns, drop the least important ones, and wrap text cells between words. Ids, numbers and dates
are never cut, nor is a word split (unless one word is wider than the whole terminal).

    cols = [Col("id", kind="id"), Col("task", priority=1), Col("cost", kind="num", priority=3)]
    print_table(cols, rows)   # rows: one list of (markup) strings per row
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dreamcli.ui.console import out

if TYPE_CHECKING:
    from rich.table import Table

GAP = 2  # spaces between columns (box=None, padding (0, 1), no edge padding)


@dataclass(frozen=True)
class Col:
    name: str
    kind: Literal["id", "num", "text"] = "text"
    priority: int = 0  # 0: always kept; higher numbers are dropped first when the table does not fit
    justify: Literal["left", "right"] = "left"


def _plain(cell: str) -> str:
    from rich.text import Text

    return Text.from_markup(cell).plain


def _min_width(col: Col, cells: list[str]) -> int:
    if col.kind in ("id", "num"):  # never wrapped: as wide as the widest cell (and the header's longest word)
        return max([len(line) for c in cells for line in c.splitlines() or [""]] +
                   [max(len(w) for w in col.name.split())])
    words = [w for c in [*cells, col.name] for w in c.split()]
    return min(max((len(w) for w in words), default=1), 40)  # a text cell wraps between words


def _natural_width(col: Col, cells: list[str]) -> int:
    return max([len(line) for c in cells for line in c.splitlines() or [""]] + [len(col.name)])


def fit_columns(cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int) -> list[tuple[int, int]]:
    """(column index, width) of the columns to show at `width`: the least important are dropped first
    until every kept column fits at its minimum; then text columns share what is left, so they wrap
    between words (only a word wider than the whole terminal is ever split)."""
    plain = [[_plain(c) for c in row] for row in rows]
    mins = [_min_width(col, [r[i] for r in plain]) for i, col in enumerate(cols)]
    natural = [max(_natural_width(col, [r[i] for r in plain]), mins[i]) for i, col in enumerate(cols)]
    keep = list(range(len(cols)))

    def need(idx: list[int], widths: Sequence[int]) -> int:
        return sum(widths[i] for i in idx) + GAP * (len(idx) - 1)

    while need(keep, mins) > width:
        droppable = [i for i in keep if cols[i].priority > 0]
        if not droppable:
            break
        keep.remove(max(droppable, key=lambda i: (cols[i].priority, i)))
    widths = {i: natural[i] for i in keep}
    text = [i for i in keep if cols[i].kind == "text"]
    floor = {i: mins[i] for i in keep}
    if need(keep, mins) > width:  # nothing left to drop: text columns may split words, down to 6
        floor.update({i: min(mins[i], 6) for i in text})
    excess = need(keep, natural) - width
    while excess > 0:
        slack = [i for i in text if widths[i] > floor[i]]
        if not slack:
            break
        widest = max(slack, key=lambda i: (widths[i] - floor[i], widths[i]))
        widths[widest] -= 1
        excess -= 1
    return [(i, widths[i]) for i in keep]


def build_table(cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int | None = None) -> Table:
    """A Rich table of the columns that fit `width` (default: the stdout console's width)."""
    from rich.table import Table

    width = width or out().width
    table = Table(box=None, header_style="bold", pad_edge=False)
    fitted = fit_columns(cols, rows, width)
    for i, w in fitted:
        col = cols[i]
        table.add_column(col.name, justify=col.justify, no_wrap=col.kind != "text", overflow="fold", width=w)
    for row in rows:
        table.add_row(*[row[i] for i, _ in fitted])
    return table


def print_table(cols: Sequence[Col], rows: Sequence[Sequence[str]]) -> None:
    out().print(build_table(cols, rows))
