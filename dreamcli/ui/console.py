"""Consoles: data on stdout, messages on stderr; colour only on a terminal and never with NO_COLOR."""

from __future__ import annotations

import errno
import os
import re
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rich.console import Console

# C0 controls but tab and newline, DEL, C1 controls: ESC starts a terminal sequence (retitle the window,
# clear the screen, move the cursor up and erase a line, a hidden OSC-8 link), CR overwrites a line,
# U+009B is a one-character CSI; and the bidi embeddings, overrides and isolates (U+202A..U+202E,
# U+2066..U+2069), which reorder what follows them on the line (`pay \u202e0001$` shows as `pay $1000`)
_CONTROLS = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
_CONTROLS_ONE_LINE = "[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"


@lru_cache(maxsize=2)
def _controls(one_line: bool) -> re.Pattern[str]:
    """Compiled on first use: a command that prints nothing untrusted does not pay for it at start-up."""
    return re.compile(_CONTROLS_ONE_LINE if one_line else _CONTROLS)


def _visible(m: re.Match[str]) -> str:
    """A control character as its Python escape (`\\x1b`, `\\r`, `\\n`, `\\u202e`), as `dreamcli.audit`
    shows a name it refuses; a tab on one line is a space."""
    ch = m.group()
    return " " if ch == "\t" else ch.encode("unicode_escape").decode("ascii")


def neutralise_controls(text: str, *, one_line: bool = False) -> str:
    """Untrusted text (session, proposal and playbook text, names, audit lines) made safe for a terminal:
    each control character shown as an escape (`\\x1b`, `\\x07`, `\\x9b`, a bidi override `\\u202e`), so no
    sequence in it acts on the terminal. Newlines and tabs are kept (CRLF read as a newline); with `one_line`
    (a table cell, a name) a newline is shown as `\\n` and a tab is a space, so the text cannot start a line
    of its own."""
    if one_line:
        return _controls(True).sub(_visible, text)
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return _controls(False).sub(_visible, text)


def safe_markup(value: Any, *, one_line: bool = False) -> str:
    """Any untrusted value as Rich markup that prints it as it is: controls neutralised, markup escaped."""
    from rich.markup import escape

    return escape(neutralise_controls("" if value is None else str(value), one_line=one_line))


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _color_allowed(stream: object) -> bool:
    return not os.environ.get("NO_COLOR") and _is_terminal(stream)


_cache: dict[str, tuple[object, Console]] = {}


MAX_COLUMNS = 10_000  # a COLUMNS beyond this is a typo, not a terminal


def _size(value: str | None) -> int | None:
    """`value` as a whole number written in ASCII digits, else None (`abc`, `-5`, `²`)."""
    raw = (value or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


def env_columns() -> int | None:
    """The width COLUMNS sets: a whole number of at least 1 (at most MAX_COLUMNS), else None (unset, or
    not a width: `abc`, `-5`), so a bad value falls back to the default instead of stopping the command."""
    columns = _size(os.environ.get("COLUMNS"))
    return None if not columns else min(columns, MAX_COLUMNS)


@lru_cache(maxsize=1)
def _console_class() -> type[Console]:
    """Rich's Console, except that a closed pipe (`| head`) is not Rich's own `SystemExit(1)`: the
    BrokenPipeError goes on to the CLI, which stops quietly with EXIT_PIPE (141) as for plain writes."""
    from rich.console import Console

    class PipeAwareConsole(Console):
        def on_broken_pipe(self) -> None:  # Rich's documented hook, called when a write hits a closed pipe
            self.quiet = True  # nothing more is written to this stream
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return PipeAwareConsole


def _console(which: str) -> Console:
    """One console per stream object (tests swap sys.stdout/sys.stderr between invocations). The layout
    follows whether the stream is a terminal (its width, or COLUMNS, else 200 columns for a pipe or a
    file); NO_COLOR turns colour off and nothing else."""
    stream = sys.stderr if which == "err" else sys.stdout
    # a live view (the cloud status line) puts Rich's proxy in place of the stream while it runs: the console
    # is then the live view's own, so what it prints goes above the live line, not into it
    stream = getattr(stream, "rich_proxied_file", stream)
    cached = _cache.get(which)
    if cached is not None and cached[0] is stream:
        return cached[1]
    color = _color_allowed(stream)
    terminal = _is_terminal(stream)
    for name in ("COLUMNS", "LINES"):  # Rich reads both, and stops on a digit `int` refuses (`²`)
        if name in os.environ and _size(os.environ[name]) is None:
            del os.environ[name]  # not a size: as if unset (also for the commands the agent runs)
    console = _console_class()(
        file=stream,
        stderr=which == "err",
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=not terminal,
        force_terminal=None if terminal else False,
        width=None if terminal else env_columns() or 200,
    )
    _cache[which] = (stream, console)
    return console


def out() -> Console:
    """Console for data (stdout)."""
    return _console("out")


def err() -> Console:
    """Console for messages, progress and live output (stderr)."""
    return _console("err")


def live_view() -> bool:
    """The one rule of every live view on stderr (`run`'s lines, the `--parallel` table, the progress bars,
    the cloud status line): live when stderr is a terminal (its console's `is_terminal`), plain lines
    otherwise. Never NO_COLOR: that only takes the colour out (the console then has no colour system, so a
    live view writes no colour or style code, only the cursor moves of its redraw). Off a terminal no Rich
    console is built for the question."""
    return _is_terminal(sys.stderr) and err().is_terminal


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


_open_line: list[object] = []  # the stderr stream a live view left in the middle of a line (`leave_line_open`)


def leave_line_open(is_open: bool) -> None:
    """A live view wrote text to stderr without ending its line (the agent's streamed words), or ended it: the
    next `error:` or `warning:` line starts on a line of its own, also when the view is never told to end
    its line (the command stopped on an error)."""
    _open_line[:] = [sys.stderr] if is_open else []


def line_left_open() -> bool:
    """Whether stderr is in the middle of a line a live view left open."""
    return bool(_open_line) and _open_line[0] is sys.stderr


def _end_open_line() -> None:
    if line_left_open():
        sys.stderr.write("\n")
    _open_line.clear()


def error_line(message: str) -> None:
    """The one-line error users see."""
    _message("error:", "bold red", message)


def info(message: str) -> None:
    """A message on stderr. It may quote a path or a name (a workspace directory holding ESC): its control
    characters are shown as escapes; its own line breaks are kept."""
    err().print(neutralise_controls(message), markup=False, highlight=False)


def note(message: str) -> None:
    """A dim aside on stderr ("no sessions match"): plain without colour, so it needs no Rich console.
    Control characters in what it quotes are shown as escapes, as `info` does."""
    message = neutralise_controls(message)
    if _color_allowed(sys.stderr):
        err().print(message, style="dim", markup=False, highlight=False)
    else:
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()


def warn(message: str) -> None:
    _message("warning:", "yellow", message)


# The words after `dreamcli` that start one of its commands (dreamcli.cli.root.MODULES), or an option before one
_COMMAND_WORDS = ("init|run|sessions|grade|dream|playbooks|pilot|export|import|schedule|config|doctor|cloud"
                  "|--home|--debug")
# A word of a command written out in a message: a shell-quoted path (`'/my home/.dreamcli'`) or a run of
# characters that ends no clause (`TASK.yaml`, `a,b`); a comma or full stop before a space ends the command
_COMMAND_WORD = r"(?:'[^'\n]*'|[^\s'();`,.]|[.,](?=[^\s'();`,.]))+"
# A command a message offers to copy (the group `whole`): an inline code span (`dreamcli doctor --fix`), or,
# after `: ` or `(`, `dreamcli` and a command up to the end of its clause (`)`, ` (`, `;`, `, `, the end):
# "(see: dreamcli playbooks diff ID)". A path (`/src/dreamcli run`) or a word in a sentence is not one. Any
# other code span is matched too, so that a command's words inside one are not taken for a command.
COMMAND_SPAN = (rf"(?P<whole>`dreamcli (?:{_COMMAND_WORDS})(?=[ `])[^`\n]*`"
                rf"|(?:(?<=: )|(?<=\())dreamcli (?:{_COMMAND_WORDS})(?=[\s);,`]|\.?$)(?: {_COMMAND_WORD})*)"
                r"|`[^`\n]+`")

# this command's stderr, the words its offered commands start with, and the values on its command line
_prefix: list[tuple[object, str, tuple[str, ...]]] = []


def _stderr() -> object:
    return getattr(sys.stderr, "rich_proxied_file", sys.stderr)  # under a live view, the stream it wraps


def offer_commands_with(prefix: str | None, typed: Iterable[str] = ()) -> None:
    """`dreamcli --home ROOT` when --home chose the workspace, else None: each command an `error:` or
    `warning:` line offers to copy (`COMMAND_SPAN`) then starts with it, so that, copied into another folder,
    it acts on the same workspace. The messages are written where the workspace's origin is not known; the
    CLI says it once it opened the workspace, with the values of its command line (`typed`): what a message
    quotes of them (an entry id, a reason) is the user's text, never a command. Kept for this stderr stream
    (one command's), as `leave_line_open` is."""
    if prefix is not None and _controls(one_line=True).search(prefix):
        prefix = None  # a path with a line break or another control character: shown escaped, it would not paste
    values = {part for v in typed for part in (v, v.partition("=")[2]) if "dreamcli " in part}  # --opt=VALUE too
    _prefix[:] = [(_stderr(), prefix, tuple(values))] if prefix else []


@lru_cache(maxsize=1)
def _command_span() -> re.Pattern[str]:
    return re.compile(COMMAND_SPAN)


def with_home(message: str) -> str:
    """`message` with `dreamcli` at the start of each command it offers replaced by the prefix
    `offer_commands_with` set (`dreamcli --home ROOT`); a command that names its --home already is left as it
    is, and so is every message while no prefix is set."""
    if not _prefix or _prefix[0][0] is not _stderr() or "dreamcli " not in message:
        return message
    _, prefix, typed = _prefix[0]
    quoted = [(m.start(), m.end()) for value in typed for m in re.finditer(re.escape(value), message)]

    def homed(m: re.Match[str]) -> str:
        span = m.group()
        at = span.find("dreamcli ")
        if m.group("whole") is None or span.startswith("dreamcli --home", at):
            return span
        if any(m.start() < end and start < m.end() for start, end in quoted):
            return span  # in a value the user typed (the span may run on past its end: a quote, a colon)
        return span[:at] + prefix + span[at + len("dreamcli"):]

    return _command_span().sub(homed, message)


def _message(label: str, style: str, message: str) -> None:
    """`label message` on stderr: one line on a pipe or a file; on a terminal the label coloured (unless
    NO_COLOR) and a message too wide for it wrapped under its text (`_hang_message`). A command it offers
    names the --home the user gave (`with_home`). The message may quote untrusted text (a name, a file name, a
    server's answer): never read as markup, its control characters and line breaks shown as escapes, so it
    cannot forge a second `error:` line (the --home path too: it is put in before they are escaped). A ZWJ or
    ZWNJ that a quoted value's `repr` escaped between two non-ASCII letters or emoji (`👨\\u200d👩`) is shown
    as the character it is, part of the spelling (`dreamcli.textnorm.joins`); one next to ASCII
    (`def\\u200dault`, which would read as `default`) and any other zero-width or bidi control stay escaped."""
    message = neutralise_controls(with_home(message), one_line=True)
    if "\\u200" in message:
        from dreamcli.ui.graphemes import show_joiners

        message = show_joiners(message)
    _end_open_line()
    if _is_terminal(sys.stderr):
        _hang_message(label, style, message)
    else:  # a pipe or a file: one line, as scripts read it, and no Rich console to build
        sys.stderr.write(f"{label} {message}\n")
        sys.stderr.flush()


def _hang_message(label: str, style: str, message: str) -> None:
    """`label message` on the terminal: wider than it, broken between words, the later lines indented
    under the text after the label, no line ending in a space, an inline code span whole when it fits, a
    command to copy (`COMMAND_SPAN`) always whole: one longer than the room left is a line of its own, which
    the terminal folds as it folds a long path, and which copies as one line."""
    from rich.text import Text

    from dreamcli.ui.wrapping import hang_plain

    console = err()
    text = Text("\n".join(hang_plain(f"{label} {message}", console.width, len(label) + 1, COMMAND_SPAN)))
    text.stylize(style, 0, len(label))
    console.print(text, highlight=False, soft_wrap=True)  # soft_wrap: Rich breaks no line again


def print_block(console: Console, renderable: Any, **options: Any) -> None:
    """Print a table or a grid. Rich pads every cell to its column's width, so each line ended in spaces;
    on a pipe or in a file (plain text, no colour) they are cut, as scripts and `diff` read the lines. On
    a terminal the padding is invisible and the table prints as Rich lays it out."""
    if console.is_terminal or console.color_system is not None:
        console.print(renderable, **options)
        return
    with console.capture() as captured:
        console.print(renderable, **options)
    console.out("\n".join(line.rstrip(" ") for line in captured.get().split("\n")), end="", highlight=False)
