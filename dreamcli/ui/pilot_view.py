"""Rendering for `dreamcli pilot`: the cost estimate and confirmation, a progress bar per arm with its
running pass rate (stderr), and the result tables (stdout, readable at 80 columns)."""

from __future__ import annotations

import sys
import textwrap
import threading
from typing import TYPE_CHECKING, Any

from dreamcli.figures import bound_text, p_text, signed
from dreamcli.pilot.stats import HELPS, HURTS, NO_LIFT, effect
from dreamcli.playbooks.pilot_file import no_pair_scored
from dreamcli.ui.console import _color_allowed, err, live_view, neutralise_controls, out, print_block, safe_markup

if TYPE_CHECKING:
    from dreamcli.pilot.api import Prepared
    from dreamcli.pilot.plan import TrialRef

_DASH = "\u2013"
_ELL = "\u2026"


def arm_label(name: str) -> str:
    """`without:pb-x` reads as `w/o pb-x` (narrow tables)."""
    return f"w/o {name[len('without:'):]}" if name.startswith("without:") else name


def ci_text(ci: list[float] | tuple[float, float], digits: int = 2) -> str:
    """`+0.01…+0.08`; a bound that is not 0 never reads 0.00 (`bound_text`)."""
    return f"{bound_text(ci[0], digits)}{_ELL}{bound_text(ci[1], digits)}"


def lift_phrase(lift: dict[str, Any]) -> str:
    """`lift +0.30 (95% CI -0.10...+0.60, p 0.18, 20 pairs; 2 entries together) unknown` for the diff view,
    the word the pilot's verdict says (dreamcli.pilot.stats.effect); `no pairs scored (6 trials unscored:
    model errors; alone) unknown` for a pilot that measured nothing."""
    p = lift.get("p_value")
    word = effect_word(lift["ci95"], p, lift.get("pairs"))
    n = int(lift.get("together_with") or 1)
    how = f"{n} entries together" if n > 1 else "alone"
    if no_pair_scored(lift):
        why = lift.get("no_pairs")
        return f"no pairs scored ({f'{why}; ' if isinstance(why, str) else ''}{how}) {word}"
    parts = [f"95% CI {ci_text(lift['ci95'])}"]
    if p is not None:
        parts.append(f"p {p_text(p)}")
    parts.append(f"{lift.get('pairs', 0)} pairs")
    return f"lift {signed(float(lift['delta']))} ({', '.join(parts)}; {how}) {word}"


def effect_word(ci: list[float] | tuple[float, float], p: float | None, pairs: Any = None) -> str:
    """helps / hurts / no lift seen / unknown: the word of the pilot's own verdict (dreamcli.pilot.stats.effect).
    `pairs` None: the count is not known, the interval and p-value decide."""
    n = pairs if isinstance(pairs, int) and not isinstance(pairs, bool) else (1 if pairs is None else 0)
    return effect(ci, n, p)


# --- before: the estimate ------------------------------------------------------------------------

# an id stays whole (a word), and with it the word that names it, when the two fit on a line
_KEEP = r"(?:pilot|dream|playbook|w/o) [^\s,]+"


def _hanging(line: str) -> int:
    """How deep a wrapped line of the plan continues: under the text after `  warning: `, else at four
    columns (deeper than the plan's own lines at two)."""
    return len("  warning: ") if line.startswith("  warning: ") else 4


def render_plan(prep: Prepared, *, parallel: int, max_cost: float | None) -> None:
    plan, est = prep.plan, prep.estimate
    arms = ", ".join(arm_label(a.name) for a in plan.arms)
    lines = [f"pilot {prep.pilot_id}: dream {plan.dream_id} -> playbook {plan.playbook}, "
             f"{len(plan.entry_ids)} entr{'y' if len(plan.entry_ids) == 1 else 'ies'} ({', '.join(plan.entry_ids)})",
             f"  {len(plan.tasks)} task(s) x {plan.trials} trials x {len(plan.arms)} arms ({arms}), "
             f"{parallel} at a time"]
    if prep.resumed:
        lines.append(f"  resuming: {prep.resumed} trial(s) already recorded, {len(prep.todo)} to run")
    basis = "; ".join(sorted(set(est.basis.values())))
    budget = f"; stops at ${max_cost:.2f} (--max-cost)" if max_cost is not None else ""
    lines.append(f"  estimated cost: ${est.total_usd:.2f} for {est.trials} trial(s) ({basis}){budget}")
    lines += [f"  warning: {w}" for w in prep.warnings]
    # names, ids and warnings come from task files and the proposal: no terminal sequence in them acts
    lines = [neutralise_controls(line, one_line=True) for line in lines]
    if live_view():  # on a terminal a line wider than it breaks between words, its later lines indented
        from dreamcli.ui.wrapping import hang_plain

        lines = [part for line in lines for part in hang_plain(line, err().width, _hanging(line), _KEEP)]
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def confirm_start() -> bool:
    """Yes or no (no by default). Ctrl-C and Ctrl-D (still the CLI's stop, exit 130) end the prompt's line
    first, as the terminal echoed no newline: the `error:` line that follows starts one of its own."""
    from rich.prompt import Confirm

    try:
        return Confirm.ask("start the pilot?", console=err(), default=False)
    except BaseException:
        err().print()
        raise


# --- during: progress ----------------------------------------------------------------------------

class PilotView:
    """Progress per arm (a Rich bar on a terminal, NO_COLOR or not; one plain line per trial otherwise). Thread-safe.
    Implements dreamcli.pilot.runner.PilotProgress (duck-typed: the ui does not subclass the core)."""

    def __init__(self, prep: Prepared, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.live = not quiet and live_view()
        self.lock = threading.Lock()
        self.total = len(prep.todo)
        self.finished = 0
        self.counts: dict[str, list[int]] = {}  # arm -> [passed, scored, done, planned]
        for a in prep.plan.arms:
            done = [r for k, r in prep.done.items() if k[1] == a.name]
            planned = len(done) + sum(1 for ref in prep.todo if ref.arm.name == a.name)
            self.counts[a.name] = [sum(1 for r in done if r.get("passed")), len(done), len(done), planned]
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def _describe(self, arm: str) -> str:
        passed, scored, _, _ = self.counts[arm]
        rate = f"{passed / scored:.0%}" if scored else "-"
        return f"{arm_label(arm):<16} pass {passed}/{scored} ({rate})"

    def __enter__(self) -> PilotView:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(bar_width=24),
                                      MofNCompleteColumn(), TimeElapsedColumn(), console=err(), transient=True)
            for arm, (_, _, done, planned) in self.counts.items():
                self._tasks[arm] = self._progress.add_task(self._describe(arm), total=planned, completed=done)
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def trial_started(self, ref: TrialRef) -> None:
        pass

    def trial_done(self, ref: TrialRef, record: dict[str, Any]) -> None:
        arm = ref.arm.name
        with self.lock:
            c = self.counts[arm]
            c[2] += 1
            if record.get("scored"):
                c[1] += 1
                c[0] += int(bool(record.get("passed")))
            self.finished += 1
            desc = self._describe(arm)
            n = self.finished
        if self._progress is not None:
            self._progress.update(self._tasks[arm], advance=1, description=desc)
            return
        if self.quiet:
            return
        mark = "ok" if record.get("passed") else ("?" if not record.get("scored") else "x")
        what = record.get("outcome") or record.get("status")
        line = (f"{mark} [{n}/{self.total}] {arm_label(arm)} {ref.task.label} #{ref.index + 1}: {what}, "
                f"${record.get('cost_usd', 0):.4f}, {record.get('wall_s', 0):.1f} s  ({desc.strip()})")
        if not record.get("scored") and record.get("error"):  # why it is left out: `cannot reach HOST (...)`
            line += f": {record['error']}"
        sys.stderr.write(neutralise_controls(line, one_line=True) + "\n")  # a task file's name: untrusted
        sys.stderr.flush()

    def stopping(self, reason: str) -> None:
        if not self.quiet:
            from dreamcli.ui.console import warn

            warn(f"stopping: {reason}; the trials running now finish")


# --- after: the result ---------------------------------------------------------------------------

def _num(x: Any, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def _delta(x: Any, digits: int) -> str:
    return "-" if x is None else signed(float(x), digits)


def render_result(result: dict[str, Any]) -> None:
    """The arms table, the lift line and its verdict (and the leave-one-out table) on stdout."""

    c = out()
    n_tasks = len(result["tasks"])
    title = neutralise_controls(f"pilot {result['pilot_id']} of dream {result['dream_id']}", one_line=True)
    if len(title) > c.width:  # two ids do not fit one narrow line: break between them, never inside one
        title = title.replace(" of dream ", "\nof dream ")
    c.print(title, highlight=False, markup=False)
    c.print(neutralise_controls(f"{len(result['entries'])} entr{'y' if len(result['entries']) == 1 else 'ies'} "
            f"({', '.join(result['entries'][:3])}{', ...' if len(result['entries']) > 3 else ''}) \u00b7 "
            f"{n_tasks} task{'s' if n_tasks != 1 else ''} \u00d7 {result['trials']} trials per arm", one_line=True),
            highlight=False, markup=False)
    from dreamcli.ui.tables import Col, print_table

    # at 80 columns the per-trial costs go first (tokens, turns, time), the pass rate and its CI stay
    cols = [Col("arm"), Col("pass", kind="num", justify="right"), Col("rate", kind="num", justify="right"),
            Col("95% CI", kind="num", justify="right", priority=1), Col("score", kind="num", justify="right",
                                                                        priority=2),
            Col("$/trial", kind="num", justify="right", priority=3), Col("tokens", kind="num", justify="right",
                                                                         priority=5),
            Col("turns", kind="num", justify="right", priority=6), Col("wall s", kind="num", justify="right",
                                                                       priority=4)]
    rows = []
    for a in result["arms"]:
        lo, hi = a["ci95"]
        rows.append([_esc(arm_label(a["name"])), f"{a['passed']}/{a['trials']}", _num(a["pass_rate"], ".2f"),
                     f"{lo:.2f}{_DASH}{hi:.2f}", _num(a["score_mean"], ".2f"), _num(a["cost_usd_per_trial"], ".4f"),
                     _num(a["tokens_per_trial"], ",.0f"), _num(a["turns_per_trial"], ".1f"),
                     _num(a["wall_s_per_trial"], ".1f")])
    d = result["deltas"]
    lift = result["lift"]
    measured = not no_pair_scored(lift)  # no lift, no interval, no test to print
    # every delta is the difference of the two figures above it; the paired lift has its own line below
    rates = [a.get("pass_rate") for a in result["arms"][:2]]  # baseline, candidate
    rate_delta = rates[1] - rates[0] if len(rates) == 2 and None not in rates else None
    rows.append([f"[bold]{cell}[/]" if cell else "" for cell in (
        "delta", "", _delta(rate_delta, 2), "", _delta(result["score"]["delta"], 2),
        _delta(d["cost_usd"], 4), _delta(d["tokens"], 0), _delta(d["turns"], 1), _delta(d["wall_s"], 1))])
    print_table(cols, rows)
    disc = lift["discordant"]
    width = max(40, min(c.width, 100))  # prose wraps at the terminal's width (80 when not a terminal)
    stats = [f"lift {signed(lift['delta'])} over {lift['pairs']} pairs, 95% CI {ci_text(lift['ci95'])} "
             "(paired bootstrap)",
             f"McNemar exact p = {p_text(lift['p_value'], 3)}: {disc['baseline_only'] + disc['candidate_only']} of "
             f"{lift['pairs']} pairs differ, {disc['candidate_only']} in the candidate's favour"]
    for line in (line for text in (stats if measured else []) for line in textwrap.wrap(text, width)):
        c.print(line, highlight=False, markup=False)
    style = {HELPS: "green", HURTS: "red"}.get(effect_word(lift["ci95"], lift["p_value"], lift.get("pairs")),
                                               "yellow")
    for line in textwrap.wrap(lift["verdict"], width):
        c.print(f"[{style}]{_esc(line)}[/]", highlight=False)
    if result.get("per_entry"):
        _render_per_entry(result["per_entry"])
    _render_footer(result)


def _esc(text: str) -> str:
    return safe_markup(text, one_line=True)


def _render_per_entry(per_entry: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1),
                  title="leave one out: the candidate vs the candidate without the entry", title_justify="left")
    for col in ("entry", "lift", "95% CI", "p", "verdict"):
        table.add_column(col, justify="left" if col in ("entry", "verdict") else "right", no_wrap=True)
    for entry, item in per_entry.items():
        lift = item["lift"]
        word = {HELPS: "[green]carries lift[/]", HURTS: "[red]hurts[/]", NO_LIFT: "[dim]dead weight?[/]"}.get(
            effect_word(lift["ci95"], lift["p_value"], lift.get("pairs")), "[yellow]unknown[/]")
        table.add_row(_esc(entry), signed(lift["delta"]), ci_text(lift["ci95"]), p_text(lift["p_value"]), word)
    print_block(out(), table)


def _render_footer(result: dict[str, Any]) -> None:
    cost = result["cost"]
    parts = [f"cost ${cost['total_usd']:.4f} in all (this run ${cost['this_run_usd']:.4f})"]
    if result.get("resumed_trials"):
        parts.append(f"{result['resumed_trials']} trial(s) resumed")
    if result.get("unscored"):
        kinds = ", ".join(k for k in result.get("unscored_reasons") or {} if isinstance(k, str))
        parts.append(f"{result['unscored']} unscored ({kinds or 'grader or model error'}; left out)")
    if result.get("status") == "stopped":
        parts.append(f"stopped early: {result.get('stop_reason')}")
    line = neutralise_controls("; ".join(parts) + f"; saved to {result.get('path')}", one_line=True)
    if _color_allowed(sys.stderr):
        err().print(line, style="dim", highlight=False, markup=False)
    else:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
