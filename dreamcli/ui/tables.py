"""Tables that degrade by design: at the terminal's width (or COLUMNS) they keep the important
columns, drop the least important ones, and wrap text cells between words. When the columns that
are left still cannot fit without splitting a word, the rightmost text columns move out of the table
onto an indented line under each row ("failing criteria: cites-policy-section, ..."). Ids, numbers
and dates are never cut, nor is a word split (unless one word is wider than the whole terminal).

    cols = [Col("id", kind="id"), Col("task", priority=1), Col("cost", kind="num", priority=3)]
    print_table(cols, rows)   # rows: one list of (markup) strings per row
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dreamcli.ui.console import out

if TYPE_CHECKING:
    from rich.console import RenderableType
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
    """(column index, width) of the columns to show at `width` (see `layout`)."""
    return layout(cols, rows, width)[0]


def layout(cols: Sequence[Col], rows: Sequence[Sequence[str]],
           width: int) -> tuple[list[tuple[int, int]], list[int]]:
    """The table's columns as (index, width) and the columns shown under each row instead.

    The least important columns are dropped first until every kept column fits at its minimum (a
    text column's longest word); if that is not enough, the rightmost text columns move under each
    row (and dropped columns come back where they fit again); then text columns share what is left,
    so they wrap between words (only a word wider than the whole terminal is ever split)."""
    plain = [[_plain(c) for c in row] for row in rows]
    mins = [_min_width(col, [r[i] for r in plain]) for i, col in enumerate(cols)]
    natural = [max(_natural_width(col, [r[i] for r in plain]), mins[i]) for i, col in enumerate(cols)]
    keep = list(range(len(cols)))

    def need(idx: list[int], widths: Sequence[int]) -> int:
        return sum(widths[i] for i in idx) + GAP * (len(idx) - 1)

    dropped: list[int] = []
    while need(keep, mins) > width:
        droppable = [i for i in keep if cols[i].priority > 0]
        if not droppable:
            break
        victim = max(droppable, key=lambda i: (cols[i].priority, i))
        keep.remove(victim)
        dropped.append(victim)
    details: list[int] = []
    while need(keep, mins) > width:
        movable = [i for i in keep[1:] if cols[i].kind == "text"]
        if not movable:
            break
        details.insert(0, movable[-1])
        keep.remove(movable[-1])
    if details:
        for i in reversed(dropped):  # room was made: the most important dropped columns come back
            if need(sorted([*keep, i]), mins) <= width:
                keep = sorted([*keep, i])
    widths = {i: natural[i] for i in keep}
    text = [i for i in keep if cols[i].kind == "text"]
    floor = {i: mins[i] for i in keep}
    if need(keep, mins) > width:  # nothing left to drop or move: text columns may split words, down to 6
        floor.update({i: min(mins[i], 6) for i in text})
    excess = need(keep, natural) - width
    while excess > 0:
        slack = [i for i in text if widths[i] > floor[i]]
        if not slack:
            break
        widest = max(slack, key=lambda i: (widths[i] - floor[i], widths[i]))
        widths[widest] -= 1
        excess -= 1
    return [(i, widths[i]) for i in keep], details


def build_table(cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int | None = None) -> RenderableType:
    """A Rich table of the columns that fit `width` (default: the stdout console's width); columns that
    do not fit without splitting words go on an indented line under each row."""
    from rich.console import Group

    width = width or out().width
    fitted, details = layout(cols, rows, width)
    if not details:
        table = _table(cols, fitted, header=True)
        for row in rows:
            table.add_row(*[row[i] for i, _ in fitted])
        return table
    parts: list[RenderableType] = [_table(cols, fitted, header=True)]
    for row in rows:
        line = _table(cols, fitted, header=False)
        line.add_row(*[row[i] for i, _ in fitted])
        parts.append(line)
        for i in details:
            parts.append(_detail(cols[i].name, row[i], width))
    return Group(*parts)


def _table(cols: Sequence[Col], fitted: Sequence[tuple[int, int]], *, header: bool) -> Table:
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False, show_header=header)
    for i, w in fitted:
        col = cols[i]
        table.add_column(col.name, justify=col.justify, no_wrap=col.kind != "text", overflow="fold", width=w)
    return table


def _detail(name: str, cell: str, width: int) -> Table:
    """`  name: cell`, wrapped between words under the row it belongs to."""
    from rich.table import Table

    grid = Table.grid(padding=0)
    grid.add_column(width=2, no_wrap=True)
    grid.add_column(width=max(10, width - 2), overflow="fold")
    grid.add_row("", f"[dim]{name}:[/] {cell}")
    return grid


def print_table(cols: Sequence[Col], rows: Sequence[Sequence[str]]) -> None:
    out().print(build_table(cols, rows))
