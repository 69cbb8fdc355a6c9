"""Live output of `dreamcli run` on stderr: the model's text as it streams, one compact line per
tool call (name, key argument, ok/error, duration), retries and a final summary (with what the
sub-agents spent, when there were any). `--quiet` shows nothing but errors. The approval prompt
(TTY only) lives here too.

Everything shown that the model or a tool wrote (streamed text, tool arguments, sub-agent briefs
and errors in notices, the command of an approval prompt) goes through the run's redactor first, as
the session log does. Streamed text is shown a whole line at a time (a secret split between two
streamed pieces is whole by then) and a private-key block only once it ended (or the reply did).
"""

from __future__ import annotations

import re
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.orchestration.tally import SubagentTally
from dreamcli.ui.console import err, leave_line_open, line_left_open, live_view, neutralise_controls, safe_markup, warn
from dreamcli.ui.plural import count
from dreamcli.ui.run_summary import duration, short, summary_line

if TYPE_CHECKING:
    from collections.abc import Callable

    from dreamcli.agent.results import RunResult, StartInfo
    from dreamcli.agent.tools.base import ToolResult
    from dreamcli.agent.usage import Totals
    from dreamcli.redaction import Redactor

_STATUS_STYLE = {"completed": "green", "error": "red", "interrupted": "yellow", "max_turns": "yellow"}
# On a terminal a line wider than it breaks between words, keeping whole each `·`-separated part that fits
# on a line (`session ID`, a workdir path with a space in it), and a tool line's timing `(1.5 s)`
_PART = r"[^·\s](?:[^·\n]*[^·\s])?"
_TIMING = r"\(\d[\d.]* m?s\)"
MIN_ARG = 20  # the columns a tool's argument keeps on a terminal too narrow for its line


_KEY_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY")
_KEY_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")


def split_streamed(pending: str) -> tuple[str, str]:
    """(what of the streamed text may be shown now, what to hold back): whole lines only, and nothing
    from a private-key block that has not ended yet (its body lines match no rule on their own)."""
    cut = pending.rfind("\n") + 1
    begins = list(_KEY_BEGIN.finditer(pending))
    if begins and not _KEY_END.search(pending, begins[-1].end()):
        cut = min(cut, begins[-1].start())
    return pending[:cut], pending[cut:]


class RunView(RunCallbacks):
    """Renders a run on stderr. Thread-safe (one lock around every write)."""

    def __init__(self, *, quiet: bool = False, wait_after_s: float | None = None,
                 redactor: Redactor | None = None) -> None:
        from dreamcli.redaction import default_redactor
        from dreamcli.ui.waiting import Waiting

        self.quiet = quiet
        self.redactor = redactor or default_redactor()  # the run's (`run_redactor(config)`) from the CLI
        self._session_redact: Callable[[str], str] | None = None  # StartInfo.redact, once the session started
        self.subagents = SubagentTally()  # what the lead's sub-agents spent (on_subagent_totals)
        self._pending = ""  # streamed text not shown yet (split_streamed)
        self.threshold: float | None = None  # the outcome's pass threshold, to print a failing score truly
        self.fix_uploads = "dreamcli doctor --fix"  # the command that sends a pending upload (with --home)
        self.live = live_view()  # glyphs and a redrawn counter on a terminal (uncoloured with NO_COLOR)
        self.streamed = False  # whether model text was shown live
        self._mid_line = False
        self._lock = threading.Lock()
        self.waiting = Waiting(self._raw, tty=self.live, after_s=wait_after_s)
        self._model_next = False  # the counter was armed for the model when an upload began
        self._counter_on = False  # a terminal's counter is drawn on the current line
        self._tool: tuple[str, float] | None = None  # the running tool's counter label and start
        self._tool_lock = threading.Lock()  # sub-agents' notices (worker threads) resume the tool's counter

    @property
    def _mid_line(self) -> bool:
        """Streamed text left without its newline: kept by the console, so that an `error:` or `warning:`
        line printed next (by anyone, even after the run stopped on an error) starts a line of its own."""
        return line_left_open()

    @_mid_line.setter
    def _mid_line(self, value: bool) -> None:
        leave_line_open(value)

    def _raw(self, text: str) -> None:
        """The counter's output: a terminal's (`\r`…) is drawn, redrawn and cleared on a line of its own,
        never over a part line of the model's text; while drawn, that line counts as left open, so that a
        `warning:` (the grader's) printed meanwhile starts a line of its own."""
        with self._lock:
            counter = text.startswith("\r")
            if self._mid_line and not (counter and self._counter_on):
                sys.stderr.write("\n")
            sys.stderr.write(text)
            sys.stderr.flush()
            self._counter_on = counter and not text.endswith("\033[K")
            self._mid_line = self._counter_on

    def _model_call(self) -> None:
        """A model call starts now: say so if it stays silent (not with --quiet)."""
        if not self.quiet:
            self.waiting.arm()

    def _wait_for(self, label: str, since: float | None = None) -> None:
        """Count a wait on a line of its own (the model's last words, left without a newline, stay)."""
        self.waiting.disarm()
        with self._lock:
            self._flush_text()
            self._end_text_line()
        self.waiting.arm(label, since=since)

    def _resume_tool(self) -> None:
        """A line was printed while a tool runs (a sub-agent's notice, an approval): count on, from its start."""
        with self._tool_lock:
            if self._tool is not None:
                self.waiting.arm(self._tool[0], since=self._tool[1])

    # --- plumbing ---------------------------------------------------------------------------
    def _line(self, markup: str, plain: str, hanging: int = 2, keep: str = _PART) -> None:
        """A line of its own: on a terminal one wider than it breaks between words, its later lines indented
        `hanging` columns, a span matching `keep` whole when it fits on a line, so that no id or path is split
        (as the `error:` lines are); on a pipe or a file the plain line whole, however long."""
        from dreamcli.ui.prose import print_hanging

        self.waiting.disarm()
        with self._lock:
            self._flush_text()
            self._end_text_line()
            if self.live:  # err() has no colour system under NO_COLOR: the glyphs, no colour code
                print_hanging(err(), markup, hanging, keep=keep)
            else:
                sys.stderr.write(neutralise_controls(plain) + "\n")
                sys.stderr.flush()
        self._resume_tool()

    def _clean(self, text: str) -> str:
        """Text from the model or a tool, as it may be shown: redacted (once the session started, as its log
        is: a secret the session redacted before, a tool's output included, stays redacted where it recurs)."""
        if not text:
            return text
        return self._session_redact(text) if self._session_redact is not None else self.redactor.redact_text(text)

    def _show_text(self, text: str) -> None:  # with the lock held
        if text:
            sys.stderr.write(neutralise_controls(self._clean(text)))  # the model's text: no terminal sequence acts
            sys.stderr.flush()
            self._mid_line = not text.endswith("\n")

    def _flush_text(self) -> None:  # with the lock held: the reply ended, show what was held back
        pending, self._pending = self._pending, ""
        self._show_text(pending)

    def _end_text_line(self) -> None:
        if self._mid_line:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._mid_line = False

    @staticmethod
    def _esc(text: str) -> str:
        return safe_markup(text)

    # --- callbacks --------------------------------------------------------------------------
    def on_start(self, info: StartInfo) -> None:
        self._session_redact = info.redact
        for w in map(self._clean, info.warnings):
            self._line(f"[yellow]warning:[/] {self._esc(w)}", f"warning: {w}", len("warning: "))
        if self.quiet:
            return
        books = ", ".join(f"{p['playbook']} v{p['version']} ({count(len(p['entry_ids']), 'entry', 'entries')})"
                          for p in info.playbooks)
        parts = [f"session {info.session_id}", info.model, str(info.workdir)]
        if books:
            parts.append(f"playbooks: {books}")
        if info.missing_playbook:
            parts.append(f"playbook {info.missing_playbook}: none approved yet")
        if info.with_proposal:
            parts.append(f"trial of dream {info.with_proposal} (not approved)")
        text = " · ".join(parts)
        self._line(f"[dim]▶ {self._esc(text)}[/]", f"> {text}")
        self._model_call()

    def on_text(self, text: str) -> None:
        if self.quiet or not text:
            return
        self.waiting.disarm()
        with self._lock:
            shown, self._pending = split_streamed(self._pending + text)
            self._show_text(shown)
            self.streamed = True

    def on_message(self, turn: int, stop_reason: str | None, usage: dict[str, Any], cost_usd: float) -> None:
        with self._lock:
            self._flush_text()

    def on_subagent_totals(self, totals: Totals) -> None:
        self.subagents.add(totals)

    def on_tool_end(self, name: str, key_argument: str, result: ToolResult, duration_ms: float) -> None:
        with self._tool_lock:
            self._tool = None
        if self.quiet:
            return
        took = duration(duration_ms)
        detail = ""
        if result.is_error:
            detail = result.error_kind or "error"
            if result.exit_code not in (None, 0):
                detail = f"exit {result.exit_code}"
        name, arg = self._clean(name), self._clean(key_argument)  # the model's name for an unknown tool: any text
        if self.live:  # the argument cut to what fits the terminal, the line's other parts (timing) included
            from rich.cells import cell_len

            from dreamcli.ui.wrapping import cut_to

            name = neutralise_controls(name, one_line=True)
            rest = f"  ✗ {name}   {detail} ({took})" if detail else f"  ✓ {name}  ({took})"
            arg = cut_to(neutralise_controls(arg, one_line=True), max(MIN_ARG, err().width - cell_len(rest)))
        else:
            arg = short(arg)
        shown = safe_markup(name, one_line=True)
        if detail:
            plain = f"  x {name} {arg}  {detail} ({took})"
            markup = f"  [red]✗[/] [bold]{shown}[/] {self._esc(arg)}  [red]{detail}[/] [dim]({took})[/]"
        else:
            plain = f"  ok {name} {arg} ({took})"
            markup = f"  [green]✓[/] [bold]{shown}[/] {self._esc(arg)} [dim]({took})[/]"
        self._line(markup, plain, 4, _TIMING)
        self._model_call()  # the result goes back to the model next

    def on_retry(self, attempt: int, reason: str, delay_s: float) -> None:
        with self._lock:  # the reply streams again: a held-back part line (perhaps half a secret, which no
            self._pending = ""  # rule knows as such) is dropped, never shown
        msg = f"response broke off ({self._clean(reason)}); retry {attempt} in {delay_s:.1f}s"
        self._line(f"[yellow]↻ {self._esc(msg)}[/]", f"retry: {msg}")
        self._model_call()  # the reply is asked for again

    def on_notice(self, message: str) -> None:
        """A sub-agent's line (its tool's counter counts on), or the loop's before it calls the model again
        (a reply cut off at max_tokens, the grader's follow-up): then the model's counter comes back."""
        if self.quiet:
            return
        message = self._clean(message)  # a sub-agent's brief or error, a tool's words
        self._line(f"[dim]· {self._esc(message)}[/]", f"- {message}")
        with self._tool_lock:
            tool_running = self._tool is not None
        if not tool_running:
            self._model_call()

    def on_thinking(self, text: str) -> None:
        self.waiting.disarm()

    def on_store_wait(self, waiting: bool) -> None:
        """An upload to the session store (on the run's thread, between model calls): the counter says so
        while it lasts, then counts for the model again if it did before."""
        if self.quiet:
            return
        if waiting:
            self._model_next = self.waiting.armed
            self.waiting.arm("waiting for the session store")
        elif self._model_next:
            self.waiting.arm()
        else:
            self.waiting.disarm()

    def on_tool_start(self, name: str, key_argument: str) -> None:
        """A tool runs (a long command, sub-agents): `running bash: 15s` while it says nothing."""
        self.waiting.disarm()
        if self.quiet:
            return
        label = f"running {neutralise_controls(short(self._clean(name), 40), one_line=True)}"  # the model's name
        with self._tool_lock:
            self._tool = (label, time.monotonic())
        self._wait_for(label)

    def on_turn_review(self, reviewing: bool) -> None:
        """The outcome's grader checks the turn: `waiting for the grader: 12s` until its grade is in."""
        if self.quiet:
            return
        if reviewing:
            self._wait_for("waiting for the grader")
        else:
            self.waiting.disarm()

    def on_end(self, result: RunResult) -> None:
        self.waiting.close()
        with self._lock:
            self._flush_text()
            self._end_text_line()
        if not self.quiet:
            self._summary(result)
        if result.upload == "pending":  # also with --quiet: the session is not all in the store
            warn(f"upload of session {result.session_id} pending: `{self.fix_uploads}` sends it to the session store")

    def _summary(self, result: RunResult) -> None:
        summary = summary_line(result, self.subagents.to_json(), self.threshold)
        style = _STATUS_STYLE.get(result.status, "")
        self._line(f"[{style}]■[/] {self._esc(summary)}" if style else self._esc(summary), summary)

    # --- approvals ----------------------------------------------------------------------------
    def ask_approval(self, kind: str, detail: str) -> bool | str:
        """Ask on the terminal whether a command or write may run (only called on a TTY): y, n (the
        default, and Ctrl-D), a: "always", the same kind of call for the rest of this session, or w:
        always, in this run and every later run in this workspace (kept in state/approvals.json)."""
        from dreamcli.agent.approvals import ALWAYS, ALWAYS_WORKSPACE, always_pattern

        self.waiting.disarm()
        what = "Run command" if kind == "command" else "Write file"
        scope = neutralise_controls(self._clean(always_pattern(kind, detail)), one_line=True)  # shown only
        with self._lock:
            self._flush_text()
            self._end_text_line()
            shown = neutralise_controls(self._clean(detail))
            sys.stderr.write(f"{what}: {shown}\n  allow? [y]es, [N]o, [a]lways '{scope}' this "
                             f"session, [w] '{scope}' in this workspace: ")
            sys.stderr.flush()
            try:
                line = sys.stdin.readline()
            except (OSError, ValueError):
                self._end_prompt_line()
                return False
            except BaseException:  # Ctrl-C (the terminal echoed `^C`, no newline), SIGTERM, SIGHUP
                self._end_prompt_line()
                raise
            if not line.endswith("\n"):  # Ctrl-D (end of input): nothing echoed a newline either
                self._end_prompt_line()
            answer = line.strip().lower()
        self._resume_tool()  # the approved command runs next (or the refusal is its result)
        if answer in ("a", "always"):
            return ALWAYS
        if answer in ("w", "workspace"):
            return ALWAYS_WORKSPACE
        return answer in ("y", "yes")

    @staticmethod
    def _end_prompt_line() -> None:
        """End the prompt's line when the answer did not (Ctrl-C, Ctrl-D): what follows starts a line."""
        sys.stderr.write("\n")
        sys.stderr.flush()


def print_final(text: str) -> None:
    """The final answer on stdout (data), plain, its control characters neutralised on a pipe too, as
    `sessions show` prints session text: a model's `ESC[2J` or window-title sequence piped through `tee`
    into a file would act on whichever terminal later shows it."""
    if text:
        sys.stdout.write(neutralise_controls(text).rstrip("\n") + "\n")
        sys.stdout.flush()

