"""Rendering of session listings and transcripts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dreamcli.numbers import finite
from dreamcli.sessions.content import content_blocks, result_text
from dreamcli.ui.console import err, note, out, safe_markup
from dreamcli.ui.plural import count
from dreamcli.ui.prose import CODE_SPAN, print_hanging

_STATUS_STYLE = {"completed": "green", "error": "red", "interrupted": "yellow", "max_turns": "yellow",
                 "incomplete": "dim"}
_OUTCOME_STYLE = {"satisfied": "green", "needs_revision": "yellow", "failed": "red", "error": "red",
                  "max_iterations_reached": "yellow", "partial": "cyan"}


_KEEP = CODE_SPAN + r"|\(\d+ ms\)|\[\d+ more chars\]"  # what a line of the transcript never breaks inside
MESSAGE_LIMIT = 4000  # characters of a message `sessions show` prints; the rest is counted ("… [N more chars]")


def _fmt_tokens(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


def _cost(value: Any) -> str:
    """A cost the same way everywhere: '-' when unknown (imported sessions), else dollars to 4 places."""
    cost = finite(value)  # a number a float holds: a log may hold 10**400
    return "-" if cost is None else f"${cost:.4f}"


def _m(value: Any, *, one_line: bool = True) -> str:
    """Any value from a log (untrusted: a string holding `[/]` or a terminal sequence, a number where a
    name belongs) as Rich markup that prints it as it is (`safe_markup`); on one line unless told."""
    return safe_markup(value if isinstance(value, str) else str(value), one_line=one_line)


def _styled(value: Any, styles: dict[str, str]) -> str:
    """A status or a result, coloured when it is a known one, else printed as it is."""
    text = value if isinstance(value, str) else str(value)
    style = styles.get(text)
    return f"[{style}]{_m(text)}[/]" if style else _m(text)


def render_session_list(rows: Iterable[Any]) -> None:
    """The sessions table: at 80 columns the counts go first, then cost and start; ids are never cut."""
    rows = list(rows)
    if not rows:
        note("no sessions match")  # plain on a pipe: an empty listing starts no Rich console
        return

    from dreamcli.ui.tables import Col, print_table

    cols = [Col("id", kind="id"), Col("started", priority=3), Col("task", priority=1, cut=4), Col("status"),
            Col("turns", kind="num", priority=6, justify="right"), Col("tokens", kind="num", priority=5,
                                                                       justify="right"),
            Col("cost", kind="num", priority=4, justify="right"), Col("outcome", priority=2)]
    table_rows = []
    for s in rows:
        # a sub-agent: its lead named by session id, or by transcript only (imported apart from its lead)
        indent = "  └ " if s.parent_session_id or getattr(s, "import_parent_source_id", None) else ""
        outcome = _m(s.outcome or "-")
        if isinstance(s.score, int | float) and not isinstance(s.score, bool) and s.outcome:
            outcome += f" ({s.score:.2f})"
        style = _OUTCOME_STYLE.get(s.outcome) if isinstance(s.outcome, str) else None
        table_rows.append([
            indent + _m(s.session_id),
            _m(s.started[:19].replace("T", " ")) if isinstance(s.started, str) and s.started else "-",
            _m(s.task or "-") + _trial(getattr(s, "pilot", None)),
            _styled(s.status, _STATUS_STYLE),
            "-" if s.turns is None else _m(s.turns),
            _fmt_tokens(s.tokens),
            _cost(s.cost_usd),
            f"[{style}]{outcome}[/]" if style else outcome,
        ])
    print_table(cols, table_rows)


def _trial(pilot: Any) -> str:
    """A pilot trial's mark after its task (--include-pilot), dim: ` trial baseline`. Short words a narrow
    task column wraps onto one line under the task name, and cuts (`without:pb-…`) rather than drop a
    column for them; `trial` alone when the arm is unknown."""
    if not isinstance(pilot, dict):
        return ""
    arm = pilot.get("arm")
    return f" [dim]trial{' ' + _m(arm) if isinstance(arm, str) and arm else ''}[/]"


def _short(value: Any, limit: int = 400) -> str:
    if isinstance(value, str):
        text = value
    else:
        import json  # transcripts only (`sessions show`): the listing never loads it

        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more chars]"


def render_transcript(events: list[dict[str, Any]], stats: Any, grades: list[dict[str, Any]],
                      children: list[dict[str, Any]]) -> None:
    """A session's events as a transcript. Every value comes from the log, untrusted: past the reader's
    type checks a text may be a number and a name may hold markup, so each is printed through `_m`."""
    con = out()
    tools: dict[str, dict[str, Any]] = {str(e.get("tool_use_id")): e for e in events if e.get("type") == "tool"}
    prompt_shown: str | None = None  # the task prompt, printed once: not again as the first user message
    for e in events:
        t = e.get("type")
        if t == "session.start":
            task = e.get("task") or {}
            _say(con, f"[bold]session {_m(e.get('session_id'))}[/]  {_m(e.get('ts', ''))}  "
                      f"source={_m(e.get('source'))}")
            _say(con, f"task: {_m(task.get('name') or '-')}  model: {_m(e.get('model') or '-')}  "
                      f"workdir: {_m(e.get('workdir') or '-')}")
            if e.get("parent_session_id"):
                _say(con, f"parent: {_m(e['parent_session_id'])}")
            for pb in e.get("playbooks") or []:
                if isinstance(pb, dict):
                    ids = pb.get("entry_ids")
                    _say(con, f"playbook {_m(pb.get('playbook'))} v{_m(pb.get('version'))}: "
                              f"{count(len(ids) if isinstance(ids, list) else 0, 'entry')} in context", style="dim")
            if task.get("prompt"):
                _say(con, f"[bold cyan]task prompt[/] {_m(_short(task['prompt'], 2000), one_line=False)}")
                prompt_shown = str(task["prompt"])
        elif t == "message":
            if _render_message(con, e, tools, prompt_shown):
                prompt_shown = None
        elif t == "outcome.evaluation":
            why = _m(_short(e.get("explanation") or "", 300), one_line=False)
            _say(con, f"[bold]evaluation[/] {_m(e.get('outcome'))} #{_m(e.get('iteration'))}: "
                      f"{_styled(e.get('result'), _OUTCOME_STYLE)}  {why}")
        elif t == "subagent":
            _say(con, f"[bold yellow]sub-agent {_m(e.get('event'))}[/] {_m(e.get('child_session_id'))} "
                      f"{_m(_short(e.get('brief') or '', 120), one_line=False)} {_m(e.get('status') or '')}")
        elif t == "session.end":
            totals = e.get("totals") or {}
            tokens = [totals.get(k) for k in ("input_tokens", "output_tokens")]
            _say(con, f"[bold]end[/] {_styled(e.get('status'), _STATUS_STYLE)}  turns={_m(totals.get('turns', '-'))} "
                      f"tokens={sum(n for n in tokens if isinstance(n, int | float))} "
                      f"cost={_cost(totals.get('cost_usd'))}"
                      + (f"  [red]{_m(e.get('error'), one_line=False)}[/]" if e.get("error") else ""))
    if children:
        render_children_tree(children)
    for g in grades:
        _say(con, f"[bold]grade[/] {_m(g.get('outcome'))}: {_styled(g.get('result'), _OUTCOME_STYLE)} "
                  f"score={_m(g.get('score'))}")
    if stats.skipped:
        err().print(f"skipped {stats.skipped} unreadable line(s): "
                    f"{stats.corrupt} corrupt, {stats.truncated} truncated, {stats.unsupported} newer version",
                    style="yellow")


def _render_message(con: Any, e: dict[str, Any], tools: dict[str, dict[str, Any]], prompt: str | None) -> bool:
    """Print a message's blocks; True when a user text repeating the task `prompt` was left out."""
    role = e.get("role")
    hid = False
    for b in content_blocks(e.get("content")):
        bt = b.get("type")
        if bt == "text" and b.get("text"):
            text = b["text"] if isinstance(b["text"], str) else _short(b["text"])
            if role == "user" and prompt is not None and text.strip() == prompt.strip():
                hid = True
                continue
            style = "bold cyan" if role == "user" else "bold magenta"  # cut as tool results are (--html: all)
            _say(con, f"[{style}]{_m(role)}[/] {_m(_short(text, MESSAGE_LIMIT), one_line=False)}")
        elif bt == "tool_use":
            dur = finite(tools.get(str(b.get("id", "")), {}).get("duration_ms"))
            _say(con, f"  [blue]→ {_m(b.get('name'))}[/] {_hang(_m(_short(b.get('input'), 200), one_line=False), 4)}"
                      + (f" [dim]({dur:.0f} ms)[/]" if dur is not None else ""))
        elif bt == "tool_result":
            text = _m(_short(result_text(b.get("content")), 300), one_line=False)
            if b.get("is_error"):
                _say(con, f"  [bold red]✗ error[/] [red]{_hang(text, len('  ✗ error '))}[/]", len("  ✗ error "))
            else:
                _say(con, f"  [green]✓[/] [dim]{_hang(text, len('  ✓ '))}[/]")
    return hid


def _say(con: Any, markup: str, hanging: int = 4, *, style: str | None = None) -> None:
    """A line of the transcript as `con.print` prints it; on a terminal wrapped under its text, `hanging`
    columns in (`print_hanging`), a code span, a duration (`(389 ms)`) and a cut (`[715 more chars]`) whole."""
    print_hanging(con, markup, hanging, style=style, keep=_KEEP)


def _hang(markup: str, width: int) -> str:
    """A tool call's or result's text with its second and later lines indented `width` columns, under its
    first line's text, so they do not read as lines of the transcript (an empty line stays empty)."""
    return "\n".join(line if not line or i == 0 else " " * width + line
                     for i, line in enumerate(markup.split("\n")))


def render_children_tree(children: list[dict[str, Any]]) -> None:
    """A lead's sub-agents as a tree: status, turns, tokens, cost, then the brief and the final answer
    (or the error) of each child. On a terminal Rich lays it out, wrapping to its width; on a pipe or a
    file each line is printed whole, as the rest of the transcript is (Rich's tree crops to the width)."""
    root = f"[bold]sub-agents ({len(children)})[/]"
    nodes = [(_child_line(c), _child_details(c)) for c in children]
    con = out()
    if not con.is_terminal:
        for text in _tree_lines(root, nodes):
            con.print(text, soft_wrap=True)
        return
    from rich.tree import Tree

    tree = Tree(root, guide_style="dim")
    for line, details in nodes:
        node = tree.add(line)
        for detail in details:
            node.add(detail)
    con.print(tree)


def _tree_lines(root: str, nodes: list[tuple[str, list[str]]]) -> list[str]:
    """The tree as whole lines of markup with its guides (`├── `, `│   `, `└── `), each line of a
    many-line text under its node's guide."""
    lines = [root]

    def put(text: str, first: str, rest: str) -> None:
        for i, part in enumerate(text.split("\n")):
            lines.append(f"[dim]{first if i == 0 else rest}[/]{part}")

    for i, (line, details) in enumerate(nodes):
        last = i == len(nodes) - 1
        put(line, "└── " if last else "├── ", "    " if last else "│   ")
        indent = "    " if last else "│   "
        for j, detail in enumerate(details):
            end = j == len(details) - 1
            put(detail, indent + ("└── " if end else "├── "), indent + ("    " if end else "│   "))
    return lines


def _child_line(c: dict[str, Any]) -> str:
    """A sub-agent's line of the tree: its id, status, turns, tokens and cost."""
    status = str(c.get("status") or "-")
    tokens = c.get("tokens")
    facts = [_styled(status, _STATUS_STYLE)]
    if c.get("turns") is not None:
        facts.append(f"{c['turns']} turn{'s' if c['turns'] != 1 else ''}")
    if tokens is not None:
        facts.append(f"{_fmt_tokens(tokens)} tokens")
    if c.get("cost_usd") is not None:
        facts.append(f"${c['cost_usd']:.4f}")
    return f"[bold]{_m(c.get('session_id'))}[/]  " + " · ".join(facts)


def _child_details(c: dict[str, Any]) -> list[str]:
    """The brief, the error (unless it completed) and the final answer of a sub-agent, as its tree shows them."""
    details = []
    if c.get("brief"):
        details.append(f"[cyan]brief[/] {_m(_short(c['brief'], 300), one_line=False)}")
    if c.get("error") and str(c.get("status") or "-") != "completed":
        details.append(f"[red]error[/] {_m(_short(str(c['error']), 300), one_line=False)}")
    if c.get("final_text"):
        details.append(f"[magenta]answer[/] {_m(_short(c['final_text'], 600), one_line=False)}")
    return details
