"""Live output of `dreamcli run` on stderr: the model's text as it streams, one compact line per
tool call (name, key argument, ok/error, duration), retries and a final summary. `--quiet` shows
nothing but errors. The approval prompt (TTY only) lives here too."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

from dreamcli.agent.callbacks import RunCallbacks
from dreamcli.ui.console import _color_allowed, err, neutralise_controls, safe_markup

if TYPE_CHECKING:
    from dreamcli.agent.results import RunResult, StartInfo
    from dreamcli.agent.tools.base import ToolResult

_STATUS_STYLE = {"completed": "green", "error": "red", "interrupted": "yellow", "max_turns": "yellow"}


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


class RunView(RunCallbacks):
    """Renders a run on stderr. Thread-safe (one lock around every write)."""

    def __init__(self, *, quiet: bool = False, wait_after_s: float | None = None) -> None:
        from dreamcli.ui.waiting import Waiting

        self.quiet = quiet
        self.threshold: float | None = None  # the outcome's pass threshold, to print a failing score truly
        self.color = _color_allowed(sys.stderr)
        self.streamed = False  # whether model text was shown live
        self._mid_line = False
        self._lock = threading.Lock()
        isatty = getattr(sys.stderr, "isatty", None)
        self.waiting = Waiting(self._raw, tty=bool(isatty and isatty()), after_s=wait_after_s)

    def _raw(self, text: str) -> None:
        with self._lock:
            if self._mid_line and not text.startswith("\r"):
                sys.stderr.write("\n")
                self._mid_line = False
            sys.stderr.write(text)
            sys.stderr.flush()

    def _model_call(self) -> None:
        """A model call starts now: say so if it stays silent (not with --quiet)."""
        if not self.quiet:
            self.waiting.arm()

    # --- plumbing ---------------------------------------------------------------------------
    def _line(self, markup: str, plain: str) -> None:
        self.waiting.disarm()
        with self._lock:
            self._end_text_line()
            if self.color:
                err().print(markup, markup=True, highlight=False, soft_wrap=True)
            else:
                sys.stderr.write(neutralise_controls(plain) + "\n")
                sys.stderr.flush()

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
        for w in info.warnings:
            self._line(f"[yellow]warning:[/] {self._esc(w)}", f"warning: {w}")
        if self.quiet:
            return
        books = ", ".join(f"{p['playbook']} v{p['version']} ({_count(len(p['entry_ids']), 'entry', 'entries')})"
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
            sys.stderr.write(neutralise_controls(text))  # the model's text: no terminal sequence acts
            sys.stderr.flush()
            self._mid_line = not text.endswith("\n")
            self.streamed = True

    def on_tool_end(self, name: str, key_argument: str, result: ToolResult, duration_ms: float) -> None:
        if self.quiet:
            return
        arg = _short(key_argument)
        took = _duration(duration_ms)
        if result.is_error:
            detail = result.error_kind or "error"
            if result.exit_code not in (None, 0):
                detail = f"exit {result.exit_code}"
            plain = f"  x {name} {arg}  {detail} ({took})"
            markup = f"  [red]✗[/] [bold]{name}[/] {self._esc(arg)}  [red]{detail}[/] [dim]({took})[/]"
        else:
            plain = f"  ok {name} {arg} ({took})"
            markup = f"  [green]✓[/] [bold]{name}[/] {self._esc(arg)} [dim]({took})[/]"
        self._line(markup, plain)
        self._model_call()  # the result goes back to the model next

    def on_retry(self, attempt: int, reason: str, delay_s: float) -> None:
        msg = f"response broke off ({reason}); retry {attempt} in {delay_s:.1f}s"
        self._line(f"[yellow]↻ {self._esc(msg)}[/]", f"retry: {msg}")

    def on_notice(self, message: str) -> None:
        if not self.quiet:
            self._line(f"[dim]· {self._esc(message)}[/]", f"- {message}")

    def on_thinking(self, text: str) -> None:
        self.waiting.disarm()

    def on_tool_start(self, name: str, key_argument: str) -> None:
        self.waiting.disarm()

    def on_end(self, result: RunResult) -> None:
        self.waiting.close()
        with self._lock:
            self._end_text_line()
        if self.quiet:
            return
        t = result.totals
        tools = _count(t.tool_calls, "tool call") + (f" ({_count(t.tool_errors, 'error')})" if t.tool_errors else "")
        tokens = _tokens(t.input_tokens + t.output_tokens + t.cache_read_tokens + t.cache_write_tokens)
        summary = (f"{result.status} · {_count(t.turns, 'turn')} · {tools} · {tokens} tokens · ${t.cost_usd:.4f} · "
                   f"{_duration(t.duration_ms)} · session {result.session_id}")
        outcome = (result.end_fields or {}).get("outcome")
        if isinstance(outcome, dict) and outcome.get("result"):
            bits = []
            if isinstance(outcome.get("score"), int | float):
                from dreamcli.outcomes.scoretext import score_pair

                threshold = self.threshold
                if isinstance(threshold, int | float) and outcome["result"] != "satisfied":
                    got, required = score_pair(outcome["score"], threshold)
                    bits.append(f"{got}, required {required}")
                else:
                    bits.append(f"{outcome['score']:.2f}")
            if isinstance(outcome.get("iterations"), int):
                bits.append(_count(outcome["iterations"], "iteration"))
            summary += f" · outcome {outcome['result']}" + (f" ({', '.join(bits)})" if bits else "")
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
        scope = neutralise_controls(always_pattern(kind, detail), one_line=True)  # shown only
        with self._lock:
            self._end_text_line()
            sys.stderr.write(f"{what}: {neutralise_controls(detail)}\n  allow? [y]es, [N]o, [a]lways '{scope}' this "
                             f"session, [w] '{scope}' in this workspace: ")
            sys.stderr.flush()
            try:
                answer = sys.stdin.readline().strip().lower()
            except (OSError, ValueError):
                return False
        if answer in ("a", "always"):
            return ALWAYS
        if answer in ("w", "workspace"):
            return ALWAYS_WORKSPACE
        return answer in ("y", "yes")


def print_final(text: str) -> None:
    """The final answer on stdout (data), plain; on a terminal its control characters are neutralised."""
    if text:
        isatty = getattr(sys.stdout, "isatty", None)
        if isatty and isatty():
            text = neutralise_controls(text)
        sys.stdout.write(text.rstrip("\n") + "\n")
        sys.stdout.flush()

