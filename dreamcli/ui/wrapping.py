"""Lines that wrap under their text: where a line too wide for the terminal breaks, between words, its
later lines indented (a hanging indent), no line ending in a space, an inline code span
(`pdftotext -layout FILE.pdf -`) whole when it fits on a line, a command to copy (a span the caller's
pattern names `whole`) whole however long. Pure functions, no console: both `dreamcli.ui.prose` (the
show views) and `dreamcli.ui.console` (the `error:` and `warning:` lines) use them, and both load this
module on first use only: a command that wraps nothing does not pay for it.

    hang_plain("error: " + message, 80, len("error: "))   # ["error: ...", "       ...", ...]
    hang_line(rich_text, 80, 4)                           # the same for a styled line (a Rich Text)
    cut_to("unzip -p msa.docx word/document.xml", 20)     # "unzip -p msa.docx w…" (20 columns)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

CODE_SPAN = r"`[^`\n]+`"  # an inline code span, as markdown writes one


def keep_spans(text: str, room: int, pattern: str = CODE_SPAN) -> tuple[str, str]:
    """`text` with the spaces of each span matching `pattern` (an inline code span) that fits in `room`
    columns replaced by one character the text lacks (a line breaks only at a space), and that character
    (it takes a space's one column); (`text`, "") when no span needs it. A span that the group `whole` of
    `pattern` matches (a command to copy) is kept whatever its length, as a long word is."""
    spans = [m for m in re.finditer(pattern, text)
             if " " in m.group() and (len(m.group()) <= room or m.groupdict().get("whole") is not None)]
    glue = next((chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text), "") if spans else ""
    if not glue:
        return text, ""
    parts, at = [], 0
    for m in spans:
        parts += [text[at:m.start()], m.group().replace(" ", glue)]
        at = m.end()
    return "".join(parts) + text[at:], glue


def hang_breaks(plain: str, width: int, hanging: int, keep: str = CODE_SPAN) -> tuple[int, list[tuple[int, int]]]:
    """Where one line of text breaks to fit `width` columns: the indent of its later lines (`hanging`, or the
    line's own indent when that is deeper, at most half the width) and the (start, end) of each line's text
    in `plain`, which leaves out the spaces at each break. A word longer than the room stays whole; a span
    matching `keep` that fits on a line is one word, and so is one its group `whole` matches, however long.
    A line that fits is one piece, as it is."""
    from rich.cells import cell_len

    if cell_len(plain) <= width:
        return 0, [(0, len(plain))]
    indent = min(max(hanging, len(plain) - len(plain.lstrip(" "))), width // 2)
    glued, _ = keep_spans(plain, width - indent, keep)
    pieces: list[tuple[int, int]] = []
    start = end = col = 0
    for word in re.finditer(r"[^ ]+", glued):
        size = cell_len(word.group())
        if end and col + (word.start() - end) + size > width:  # no room: the word starts the next line
            pieces.append((start, end))
            start, col = word.start(), indent
        else:
            col += cell_len(plain[end:word.start()])  # the spaces before the word (the indent on the first line)
        col += size
        end = word.end()
    pieces.append((start, end))
    return indent, pieces


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


def cut_to(text: str, room: int) -> str:
    """`text` on one line (its runs of white space one space each), cut with `…` to at most `room` columns
    of a terminal (a wide character takes two): a tool's argument on `run`'s tool line."""
    from rich.cells import cell_len

    text = " ".join(text.split())
    if cell_len(text) <= room:
        return text
    kept: list[str] = []
    used = 0
    for ch in text:
        used += cell_len(ch)
        if used > room - 1:
            break
        kept.append(ch)
    return "".join(kept).rstrip() + "…"
