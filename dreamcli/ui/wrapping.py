"""Lines that wrap under their text: where a line too wide for the terminal breaks, between words (and
between two characters of Japanese, Chinese or Korean text, which has no spaces), its later lines indented
(a hanging indent), no line ending in a space, an inline code span (`pdftotext -layout FILE.pdf -`) whole
when it fits on a line, a command to copy (a span the caller's pattern names `whole`) whole however long.
A line breaks inside a word only between two CJK characters, so the ASCII part of a path, a file name, a
date or an id in Japanese text (`第3-2条`, `2024/01/15`, `contract_v2.docx`) is never broken, while the
CJK text around it still wraps. Widths are terminal cells (a wide character takes two), and no break or
cut splits a grapheme (`dreamcli.ui.graphemes`). The time is linear in the text's length: 200 KB of
minified JSON holding Japanese (a tool's output in `sessions show`) wraps in a fraction of a second. Pure
functions, no console: both `dreamcli.ui.prose` (the show views) and `dreamcli.ui.console` (the `error:`
and `warning:` lines) use them, and both load this module on first use only: a command that wraps
nothing does not pay for it.

    hang_plain("error: " + message, 80, len("error: "))   # ["error: ...", "       ...", ...]
    hang_line(rich_text, 80, 4)                           # the same for a styled line (a Rich Text)
    wrap_para(text, 38, fold=True)                        # a column of `playbooks diff`: long words folded
    cut_to("unzip -p msa.docx word/document.xml", 20)     # "unzip -p msa.docx w…" (20 columns)
"""

from __future__ import annotations

import bisect
import itertools
import re
from typing import TYPE_CHECKING

from dreamcli.ui.graphemes import boundaries, cells, cjk_break, cut_cells

if TYPE_CHECKING:
    from rich.text import Text

CODE_SPAN = r"`[^`\n]+`"  # an inline code span, as markdown writes one
_WORD = re.compile(r"[^ ]+")
_FOLD_AFTER = "-_/."  # where a folded word (in a `playbooks diff` column) breaks first


def _kept(text: str, room: int, pattern: str) -> list[re.Match[str]]:
    """The spans matching `pattern` that hold a space and stay whole: those that fit in `room` columns, and
    those the group `whole` matches, whatever their length."""
    return [m for m in re.finditer(pattern, text)
            if " " in m.group() and (cells(m.group()) <= room or m.groupdict().get("whole") is not None)]


def keep_spans(text: str, room: int, pattern: str = CODE_SPAN) -> tuple[str, str]:
    """`text` with the spaces of each span matching `pattern` (an inline code span) that fits in `room`
    columns replaced by one character the text lacks (a line breaks only at a space), and that character
    (it takes a space's one column); (`text`, "") when no span needs it. A span that the group `whole` of
    `pattern` matches (a command to copy) is kept whatever its length, as a long word is."""
    spans = _kept(text, room, pattern)
    glue = next((chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text), "") if spans else ""
    if not glue:
        return text, ""
    parts, at = [], 0
    for m in spans:
        parts += [text[at:m.start()], m.group().replace(" ", glue)]
        at = m.end()
    return "".join(parts) + text[at:], glue


def _units(plain: str, room: int, keep: str, fold: bool = False) -> list[tuple[int, int]]:
    """The (start, end) of each piece of `plain` that a line never breaks inside: its words (a span matching
    `keep` that fits in `room` columns is one, spaces and all, and so is one its group `whole` matches), and,
    in a word, each piece between two places where a line may break between CJK characters (never inside
    such a span). With `fold`, a piece wider than `room` is folded after a `-`, `_`, `/` or `.`, else between
    graphemes, into pieces that fit. Linear: the kept spans are walked once, in order, alongside the breaks."""
    kept = [m.span() for m in re.finditer(keep, plain)
            if cells(m.group()) <= room or m.groupdict().get("whole") is not None]
    glued = list(plain)
    for start, end in kept:
        glued[start:end] = ["x" if ch == " " else ch for ch in glued[start:end]]
    units: list[tuple[int, int]] = []
    k = 0  # the first kept span that does not end before the break looked at
    for word in _WORD.finditer("".join(glued)):
        at, end = word.span()
        for b in _cjk_breaks(plain, at, end):
            while k < len(kept) and kept[k][1] <= b:
                k += 1
            if k < len(kept) and kept[k][0] < b:
                continue  # inside a code span kept whole
            units.append((at, b))
            at = b
        units.append((at, end))
    if fold:
        units = [part for unit in units for part in _folded(plain, *unit, room)]
    return units


def _cjk_breaks(plain: str, start: int, end: int) -> list[int]:
    """Where in the word plain[start:end] a line may break between two CJK characters, in order: only ever
    between two of them, so no ASCII character of a path, a date or an id (`第3-2条`) is ever at a break."""
    word = plain[start:end]
    if word.isascii() or not any(ord(ch) >= 0x1100 for ch in word):
        return []
    points = boundaries(word)
    return [start + b for a, b, c in zip(points, points[1:], points[2:], strict=False)
            if cjk_break(word[a:b], word[b:c])]


def fold_word(word: str, room: int) -> list[tuple[int, int]]:
    """The (start, end) of each line of a word folded to at most `room` columns: after the last `-`, `_`, `/`
    or `.` that fits (`contract-listed-` / `in-the-summary`), else after the last whole grapheme that does."""
    return _folded(word, 0, len(word), room)


def _folded(plain: str, start: int, end: int, room: int) -> list[tuple[int, int]]:
    """plain[start:end] folded as `fold_word` folds a word."""
    word = plain[start:end]
    if cells(word) <= room:
        return [(start, end)]
    points = boundaries(word)
    at = [0]  # the columns before each point
    for a, b in itertools.pairwise(points):
        at.append(at[-1] + cells(word[a:b]))
    out: list[tuple[int, int]] = []
    i = 0  # the point the current line starts at
    while at[-1] - at[i] > room > 0:
        fits = list(range(i + 1, bisect.bisect_right(at, at[i] + room))) or [i + 1]  # the points that fit
        after = [k for k in fits if word[points[k] - 1] in _FOLD_AFTER and k < len(points) - 1]
        k = (after or fits)[-1]  # one grapheme wider than the room (an emoji in one column) goes whole
        out.append((start + points[i], start + points[k]))
        i = k
    return [*out, (start + points[i], end)]


def _fill(plain: str, units: list[tuple[int, int]], width: int, indent: int, first: int = 0,
          lead: bool = True) -> list[tuple[int, int]]:
    """Lines of at most `width` columns (a unit wider than that alone on its line) as the (start, end) of
    their text in `plain`: the first starts at 0 (its leading spaces kept), `first` columns in; the later
    ones `indent` columns in. The spaces at each break are left out. Without `lead`, the leading spaces
    are left out too when the first unit does not fit after them, as textwrap does (a paragraph indented
    deeper than its first word leaves room for)."""
    pieces: list[tuple[int, int]] = []
    start = end = 0
    col = first
    for a, b in units:
        size, gap = cells(plain[a:b]), cells(plain[end:a])
        if end and col + gap + size > width:  # no room: the unit starts the next line
            pieces.append((start, end))
            start, col = a, indent
        elif not end and not lead and col + gap + size > width:  # no room after the leading spaces: none
            start = a
        else:
            col += gap  # the spaces before the unit (the indent on the first line); none between CJK pieces
        col += size
        end = b
    pieces.append((start, end))
    return pieces


def hang_breaks(plain: str, width: int, hanging: int, keep: str = CODE_SPAN) -> tuple[int, list[tuple[int, int]]]:
    """Where one line of text breaks to fit `width` columns: the indent of its later lines (`hanging`, or the
    line's own indent when that is deeper, at most half the width) and the (start, end) of each line's text
    in `plain`, which leaves out the spaces at each break. A word longer than the room stays whole; a span
    matching `keep` that fits on a line is one word, and so is one its group `whole` matches, however long.
    A line that fits is one piece, as it is."""
    if cells(plain) <= width:
        return 0, [(0, len(plain))]
    indent = min(max(hanging, len(plain) - len(plain.lstrip(" "))), width // 2)
    return indent, _fill(plain, _units(plain, width - indent, keep), width, indent)


def hang_plain(plain: str, width: int, hanging: int, keep: str = CODE_SPAN) -> list[str]:
    """One line of text as lines of at most `width` columns, broken as `hang_breaks` says, the later lines
    indented."""
    indent, pieces = hang_breaks(plain, width, hanging, keep)
    return [(" " * indent if n else "") + plain[start:end] for n, (start, end) in enumerate(pieces)]


def hang_line(line: Text, width: int, hanging: int, keep: str = CODE_SPAN) -> list[Text]:
    """One line of styled text as lines of at most `width` columns, styles kept, broken as `hang_breaks`
    says, the later lines indented."""
    from rich.text import Text

    indent, pieces = hang_breaks(line.plain, width, hanging, keep)
    if pieces == [(0, len(line.plain))]:
        return [line]
    return [line[start:end] if not n else Text(" " * indent) + line[start:end] for n, (start, end) in enumerate(pieces)]


def wrap_para(para: str, width: int, first: str = "", rest: str = "", keep: str = CODE_SPAN,
              fold: bool = False) -> list[str]:
    """One paragraph as lines of at most `width` columns, the first starting with `first`, the others with
    `rest`: broken between words and CJK characters, a code span whole when it fits, a word longer than the
    room whole (with `fold`, folded to fit, as a narrow column needs). The paragraph's own leading spaces
    are kept when its first word fits after them, else left out (as textwrap did: ASCII text wraps as it
    did then). A blank paragraph is one empty line."""
    para = para.expandtabs().rstrip(" ")
    if not para.strip(" "):
        return [""]
    room = width - max(cells(first), cells(rest))
    pieces = _fill(para, _units(para, room, keep, fold), width, cells(rest), cells(first), lead=False)
    return [(rest if n else first) + para[start:end] for n, (start, end) in enumerate(pieces)]


def cut_to(text: str, room: int) -> str:
    """`text` on one line (its runs of white space one space each), cut with `…` to at most `room` columns
    of a terminal (a wide character takes two), between whole graphemes and escapes: a tool's argument on
    `run`'s tool line."""
    return cut_cells(" ".join(text.split()), room)
