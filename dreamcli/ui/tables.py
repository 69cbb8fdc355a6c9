"""Tables that degrade by design: at the terminal's width (or COLUMNS) they keep the important
columns, drop the least important ones, and wrap text cells between words. When the columns that
are left still cannot fit without splitting a word, the rightmost text columns move out of the table
onto an indented line under each row ("failing criteria: cites-policy-section, ..."). Ids, numbers
and dates are never cut, nor is a word split (unless one word is wider than the whole terminal): when
the columns that cannot shrink are wider than the terminal (an id on a 20-column one), the table is
wider than the terminal and the terminal wraps its lines. A
column marked `cut` (a task name) is cut rather than dropped: a word too long for it ends at a word
boundary with an ellipsis (`contract-review-…`); so is a word longer than 40 characters in any column.

    cols = [Col("id", kind="id"), Col("task", priority=1), Col("cost", kind="num", priority=3)]
    print_table(cols, rows)   # rows: one list of (markup) strings per row
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dreamcli.ui.console import out, print_block

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

GAP = 2  # spaces between columns (box=None, padding (0, 1), no edge padding)
WORD_CAP = 40  # a longer word does not widen its column: it is cut at a word boundary with an ellipsis
_SEPARATORS = "-_/."  # where a word may end early: `contract-review-emea` -> `contract-review…`
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Col:
    name: str
    kind: Literal["id", "num", "text"] = "text"
    priority: int = 0  # 0: always kept; higher numbers are dropped first when the table does not fit
    cut: int = 0  # a text column whose long words may be cut (at a word boundary, with an ellipsis) when the
    # table does not fit: cutting comes when dropping a column of this priority would (0: never cut)
    justify: Literal["left", "right"] = "left"


def _plain(cell: str) -> str:
    from rich.text import Text

    return Text.from_markup(cell).plain


def _min_width(col: Col, cells: list[str]) -> int:
    if col.kind in ("id", "num"):  # never wrapped: as wide as the widest cell (and the header's longest word)
        return max([len(line) for c in cells for line in c.splitlines() or [""]] +
                   [max(len(w) for w in col.name.split())])
    words = [w for c in [*cells, col.name] for w in c.split()]
    return min(max((len(w) for w in words), default=1), WORD_CAP)  # a text cell wraps between words


def _cut_need(word: str) -> int:
    """The narrowest a word can be shown cut at a word boundary: its first part and the ellipsis."""
    first = next((i for i, ch in enumerate(word) if ch in _SEPARATORS and i > 0), None)
    return len(word) if first is None else first + 1


def _cut_min(col: Col, cells: list[str]) -> int:
    """A `cut` column's minimum once cut: every word down to its first part (`contract…`), whole headers."""
    return max([_cut_need(w) for c in cells for w in c.split()] + [len(w) for w in col.name.split()] + [1])


def _pieces(word: str, width: int, lines: int) -> list[tuple[int, int, bool]]:
    """A word too long for `width` as at most `lines` lines (start, end, ellipsis), broken after a
    separator (`contract-` / `review`), the last one cut at a word boundary with an ellipsis when the rest
    does not fit (`review…`). Only a word with no boundary that fits is cut inside (still marked `…`)."""
    out: list[tuple[int, int, bool]] = []
    start = 0
    for line in range(lines):
        if len(word) - start <= width:
            return [*out, (start, len(word), False)]
        ends = [i + 1 for i, ch in enumerate(word[start:start + width], start) if ch in _SEPARATORS and i > start]
        if line < lines - 1 and ends:
            out.append((start, ends[-1], False))
            start = ends[-1]
            continue
        seps = [i for i in range(start + 1, min(start + width, len(word))) if word[i] in _SEPARATORS]
        return [*out, (start, seps[-1] if seps else start + max(width - 1, 0), True)]
    return out


def cut_words(cell: str, width: int, *, longer_than: int = 0, lines: int = 1) -> RenderableType:
    """The cell (markup) with every word longer than `width` (and than `longer_than`) folded after a
    separator onto at most `lines` lines, the last cut at a word boundary with an ellipsis
    (`contract-review-emea-legal` at 12, one line: `contract…`; two lines: `contract-` / `review-emea…`)."""
    from rich.text import Text

    text = Text.from_markup(cell)
    long = [m for m in _WORD.finditer(text.plain) if m.end() - m.start() > max(width, longer_than)]
    if not long:
        return cell
    parts, pos = [], 0
    for m in long:
        parts.append(text[pos:m.start()])
        for k, (a, b, ellipsis) in enumerate(_pieces(m.group(), width, lines)):
            parts += [Text("\n")] if k else []
            parts += [text[m.start() + a:m.start() + b]] + ([Text("\u2026")] if ellipsis else [])
        pos = m.end()
    parts.append(text[pos:])
    return Text("").join(parts)


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
    full = list(mins)
    cut_mins = {i: min(_cut_min(col, [r[i] for r in plain]), mins[i]) for i, col in enumerate(cols)
                if col.cut and col.kind == "text"}
    natural = [max(_natural_width(col, [r[i] for r in plain]), mins[i]) for i, col in enumerate(cols)]
    keep = list(range(len(cols)))

    def need(idx: list[int], widths: Sequence[int]) -> int:
        return sum(widths[i] for i in idx) + GAP * (len(idx) - 1)

    dropped: list[int] = []
    while need(keep, mins) > width:  # the least important first: a column dropped, or a `cut` column cut
        steps = [(cols[i].priority, i, False) for i in keep if cols[i].priority > 0]
        steps += [(cols[i].cut, i, True) for i in keep if i in cut_mins and cut_mins[i] < mins[i]]
        if not steps:
            break
        _, victim, cut = max(steps)
        if cut:
            mins[victim] = cut_mins[victim]
        else:
            keep.remove(victim)
            dropped.append(victim)
    details: list[int] = []
    while need(keep, mins) > width:
        movable = [i for i in keep[1:] if cols[i].kind == "text"]
        if not movable:
            break
        details.insert(0, movable[-1])
        keep.remove(movable[-1])
    for i in reversed(dropped):  # room was made: the most important dropped columns come back where they fit
        if need(sorted([*keep, i]), full) <= width:  # (never at the cost of a cut column's words)
            keep = sorted([*keep, i])
    widths = {i: natural[i] for i in keep}
    text = [i for i in keep if cols[i].kind == "text"]
    floor = {i: mins[i] for i in keep}
    if need(keep, mins) > width:  # nothing left to drop or move: text columns may split words, down to 6
        floor.update({i: min(mins[i], 6) for i in text})
    excess = need(keep, natural) - width
    while excess > 0:  # wrapping loses nothing, cutting does: a column is cut below its words only when no other
        slack = [i for i in text if widths[i] > max(floor[i], full[i] if i in cut_mins else 0)]  # can wrap more
        slack = slack or [i for i in text if widths[i] > floor[i]]
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
        table = _table(cols, fitted, header=True, terminal=width)
        for row in rows:
            table.add_row(*[_cell(cols[i], row[i], w) for i, w in fitted])
        return table
    parts: list[RenderableType] = [_table(cols, fitted, header=True, terminal=width)]
    for row in rows:
        line = _table(cols, fitted, header=False, terminal=width)
        line.add_row(*[_cell(cols[i], row[i], w) for i, w in fitted])
        parts.append(line)
        for i in details:
            parts.append(_detail(cols[i].name, row[i], width))
    return Group(*parts)


def _cell(col: Col, cell: str, width: int) -> RenderableType:
    """A text cell whose words fit its width: a `cut` column's long words are folded onto three lines at most,
    and any word over WORD_CAP cut, at word boundaries with an ellipsis (Rich would split them anywhere)."""
    if col.kind != "text" or len(cell) <= width:
        return cell
    return cut_words(cell, width, longer_than=0 if col.cut else WORD_CAP, lines=3 if col.cut else 1)


def _table(cols: Sequence[Col], fitted: Sequence[tuple[int, int]], *, header: bool, terminal: int) -> Table:
    """A table of the fitted columns; wider than the `terminal` when they are (Rich would squeeze its
    columns to the terminal's width, cutting an id)."""
    from rich.table import Table

    own = sum(w for _, w in fitted) + GAP * (len(fitted) - 1)
    table = Table(box=None, header_style="bold", pad_edge=False, show_header=header,
                  width=own if own > terminal else None)
    for i, w in fitted:
        col = cols[i]
        table.add_column(col.name, justify=col.justify, no_wrap=col.kind != "text", overflow="fold", width=w)
    return table


def _detail(name: str, cell: str, width: int) -> Table:
    """`  name: cell`, wrapped between words under the row it belongs to; a word wider than the line (a long
    criterion id) folded after a `-`, `_`, `/` or `.` (`fold_words`), never inside a word of it."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=0)
    grid.add_column(width=2, no_wrap=True)
    grid.add_column(width=max(10, width - 2), overflow="fold")
    grid.add_row("", Text.assemble(Text.from_markup(f"[dim]{name}:[/] "), fold_words(cell, max(10, width - 2))))
    return grid


def fold_words(cell: str, width: int) -> Text:
    """The cell (markup) with each word wider than `width` columns folded onto the lines it needs, after a
    separator (`complete-all-…-listed-` / `in-the-summary`), between graphemes only where none fits; Rich
    would fold it at the last column, inside a word."""
    from rich.text import Text

    from dreamcli.ui.graphemes import cells  # here: a table that folds nothing (`sessions list`) does not load it

    text = Text.from_markup(cell)
    long = [m for m in _WORD.finditer(text.plain) if cells(m.group()) > width]
    if not long:
        return text
    from dreamcli.ui.wrapping import fold_word

    parts, pos = [], 0
    for m in long:
        parts.append(text[pos:m.start()])
        for k, (a, b) in enumerate(fold_word(m.group(), width)):
            parts += [Text("\n")] if k else []
            parts.append(text[m.start() + a:m.start() + b])
        pos = m.end()
    parts.append(text[pos:])
    return Text("").join(parts)


def print_table(cols: Sequence[Col], rows: Sequence[Sequence[str]]) -> None:
    print_block(out(), build_table(cols, rows), crop=False)  # a table wider than the terminal is shown whole
