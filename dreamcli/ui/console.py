"""Consoles: data on stdout, messages on stderr; colour only on a terminal and never with NO_COLOR."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def _color_allowed(stream: object) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


_cache: dict[str, tuple[object, Console]] = {}


def _console(which: str) -> Console:
    """One console per stream object (tests swap sys.stdout/sys.stderr between invocations)."""
    from rich.console import Console

    stream = sys.stderr if which == "err" else sys.stdout
    cached = _cache.get(which)
    if cached is not None and cached[0] is stream:
        return cached[1]
    color = _color_allowed(stream)
    console = Console(
        file=stream,
        stderr=which == "err",
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=not color,
        force_terminal=None if color else False,
        width=None if color else int(os.environ.get("COLUMNS") or 200),
    )
    _cache[which] = (stream, console)
    return console


def out() -> Console:
    """Console for data (stdout)."""
    return _console("out")


def err() -> Console:
    """Console for messages, progress and live output (stderr)."""
    return _console("err")


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def error_line(message: str) -> None:
    """The one-line error users see."""
    if _color_allowed(sys.stderr):
        err().print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    else:
        sys.stderr.write(f"error: {message}\n")
        sys.stderr.flush()


def info(message: str) -> None:
    err().print(message, markup=False, highlight=False)


def note(message: str) -> None:
    """A dim aside on stderr ("no sessions match"): plain without colour, so it needs no Rich console."""
    if _color_allowed(sys.stderr):
        err().print(message, style="dim", markup=False, highlight=False)
    else:
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()


def warn(message: str) -> None:
    if _color_allowed(sys.stderr):
        err().print(f"[yellow]warning:[/] {message}", markup=True, highlight=False)
    else:
        sys.stderr.write(f"warning: {message}\n")
        sys.stderr.flush()
