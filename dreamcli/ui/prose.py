"""Prose that fits the terminal: summary and report lines wrapped between words to the width of the
terminal, or to COLUMNS (default 80) when the output is a pipe or a file. A word, an id or a path is
never cut: one longer than the width stays whole on its own line.

    say(out(), "add     pb-3f9k2xab  Tool workarounds · 6/10 sessions")
    say(out(), entry_text, indent="    ")
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_WIDTH = 80


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
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(para, width=width, initial_indent=indent, subsequent_indent=rest,
                                   break_long_words=False, break_on_hyphens=False, drop_whitespace=True)
                     or [""])
    return lines


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
