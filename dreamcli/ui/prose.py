"""Prose that fits the terminal: summary and report lines wrapped between words to the width of the
terminal, or to COLUMNS (default 80) when the output is a pipe or a file. A word, an id or a path is
never cut: one longer than the width stays whole on its own line; nor is an inline code span
(`pdftotext -layout FILE.pdf -`) that fits on a line.

    say(out(), "add     pb-3f9k2xab  Tool workarounds · 6/10 sessions")
    say(out(), entry_text, indent="    ")
    print_hanging(out(), f"  [cyan]{entry_id}[/]  {safe_markup(text)}")   # wrapped on a terminal only
"""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

DEFAULT_WIDTH = 80
CODE_SPAN = r"`[^`\n]+`"  # an inline code span, as markdown writes one


def keep_spans(text: str, room: int, pattern: str = CODE_SPAN) -> tuple[str, str]:
    """`text` with the spaces of each span matching `pattern` (an inline code span) that fits in `room`
    columns replaced by one character the text lacks (a line breaks only at a space), and that character
    (it takes a space's one column); (`text`, "") when no span needs it."""
    spans = [m for m in re.finditer(pattern, text) if " " in m.group() and len(m.group()) <= room]
    glue = next((chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text), "") if spans else ""
    if not glue:
        return text, ""
    parts, at = [], 0
    for m in spans:
        parts += [text[at:m.start()], m.group().replace(" ", glue)]
        at = m.end()
    return "".join(parts) + text[at:], glue


def prose_width(console: Console) -> int:
    """The terminal's width on a terminal; else COLUMNS, else 80."""
    if console.is_terminal:
        return console.width
    from dreamcli.ui.console import env_columns

    return max(20, env_columns() or DEFAULT_WIDTH)


def wrap(text: str, width: int, *, indent: str = "", hanging: str | None = None) -> list[str]:
    """`text` as lines of at most `width` characters, broken only between words (a word longer than
    the width stays whole); each paragraph starts with `indent`, its other lines with `hanging`."""
    rest = indent if hanging is None else hanging
    text, glue = keep_spans(text, width - max(len(indent), len(rest)))
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(para, width=width, initial_indent=indent, subsequent_indent=rest,
                                   break_long_words=False, break_on_hyphens=False, drop_whitespace=True)
                     or [""])
    return [line.replace(glue, " ") for line in lines] if glue else lines


def say(console: Console, text: str, *, indent: str = "", hanging: str | None = None, markup: str | None = None,
        style: str | None = None) -> None:
    """Print `text` wrapped to the console's prose width. `markup`, the same text with Rich markup, is
    printed instead when the text fits on one line (colour for short lines, plain wrapped text else)."""
    from dreamcli.ui.console import neutralise_controls, safe_markup

    text = neutralise_controls(text)  # untrusted (a proposal's text): no terminal sequence acts
    width = prose_width(console)
    lines = wrap(text, width, indent=indent, hanging=hanging)
    if markup is not None and len(lines) == 1:
        console.print(neutralise_controls(markup), markup=True, highlight=False, soft_wrap=True)
        return
    for line in lines:
        console.print(safe_markup(line), markup=True, highlight=False, soft_wrap=True, style=style)


def print_hanging(console: Console, markup: str, hanging: int = 4, *, style: str | None = None,
                  keep: str = CODE_SPAN) -> None:
    """`console.print(markup, style=style)`; on a terminal, each of its lines wider than the terminal wraps
    between words (styles kept), its later lines indented `hanging` columns (as deep as the line's own
    indent when that is deeper), no line ending in a space, each span matching `keep` (an inline code
    span) whole when it fits on a line. Off a terminal each line is printed as it is, however long: a
    script may read the output line by line."""
    if not console.is_terminal:
        console.print(markup, style=style)
        return
    from rich.text import Text

    text = console.render_str(markup, highlight=False)
    text.expand_tabs()
    lines = [part for line in text.split("\n", allow_blank=True)
             for part in hang_line(line, console.width, hanging, keep)]
    console.print(Text("\n").join(lines), style=style or "", soft_wrap=True)


def hang_line(line: Text, width: int, hanging: int, keep: str = CODE_SPAN) -> list[Text]:
    """One line of styled text as lines of at most `width` columns, broken only between words (a word
    longer than the room stays whole); the later lines indented as `print_hanging` says."""
    from rich.cells import cell_len
    from rich.text import Text

    plain = line.plain
    if cell_len(plain) <= width:
        return [line]
    indent = min(max(hanging, len(plain) - len(plain.lstrip(" "))), width // 2)
    glued, _ = keep_spans(plain, width - indent, keep)
    parts: list[Text] = []
    start = end = col = 0
    for word in re.finditer(r"[^ ]+", glued):
        size = cell_len(word.group())
        if end and col + (word.start() - end) + size > width:  # no room: the word starts the next line
            parts.append(line[start:end] if not parts else Text(" " * indent) + line[start:end])
            start, col = word.start(), indent
        else:
            col += cell_len(plain[end:word.start()])  # the spaces before the word (the indent on the first line)
        col += size
        end = word.end()
    parts.append(line[start:end] if not parts else Text(" " * indent) + line[start:end])
    return parts
