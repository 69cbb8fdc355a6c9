"""Prose that fits the terminal: summary and report lines wrapped between words (and between two characters
of Japanese, Chinese or Korean text) to the width of the terminal, or to COLUMNS (default 80) when the
output is a pipe or a file, measured in terminal cells. A word, an id or a path is never cut (in Japanese
text, its ASCII part: `第3-2条`, `contract_v2.docx`): one longer than the width stays whole on its own
line; nor is an inline code span (`pdftotext -layout FILE.pdf -`) that fits on a line.

    say(out(), "add     pb-3f9k2xab  Tool workarounds · 6/10 sessions")
    say(out(), entry_text, indent="    ")
    print_hanging(out(), f"  [cyan]{entry_id}[/]  {safe_markup(text)}")   # wrapped on a terminal only
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_WIDTH = 80
# The breaking itself is dreamcli.ui.wrapping's, loaded on first use: a command that imports a view but
# wraps nothing (`sessions list`, `playbooks list`) does not load it at start-up. Hence this literal, the
# same as wrapping.CODE_SPAN (a test holds them equal), for the views that build on it when imported.
CODE_SPAN = r"`[^`\n]+`"  # an inline code span, as markdown writes one


def keep_spans(text: str, room: int, pattern: str = CODE_SPAN) -> tuple[str, str]:
    """`dreamcli.ui.wrapping.keep_spans`: a code span that fits in `room` columns glued whole."""
    from dreamcli.ui import wrapping

    return wrapping.keep_spans(text, room, pattern)


def prose_width(console: Console) -> int:
    """The terminal's width on a terminal; else COLUMNS, else 80."""
    if console.is_terminal:
        return console.width
    from dreamcli.ui.console import env_columns

    return max(20, env_columns() or DEFAULT_WIDTH)


def wrap(text: str, width: int, *, indent: str = "", hanging: str | None = None) -> list[str]:
    """`text` as lines of at most `width` columns, broken only between words or between two CJK characters
    (a word longer than the width stays whole); each paragraph starts with `indent`, its other lines with
    `hanging`."""
    from dreamcli.ui.wrapping import wrap_para

    rest = indent if hanging is None else hanging
    return [line for para in text.splitlines() or [""] for line in wrap_para(para, width, indent, rest)]


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

    from dreamcli.ui.wrapping import hang_line

    text = console.render_str(markup, highlight=False)
    text.expand_tabs()
    lines = [part for line in text.split("\n", allow_blank=True)
             for part in hang_line(line, console.width, hanging, keep)]
    console.print(Text("\n").join(lines), style=style or "", soft_wrap=True)
