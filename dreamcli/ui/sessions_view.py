"""Rendering of session listings and transcripts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from dreamcli.ui.console import err, note, out
from dreamcli.ui.plural import count

_STATUS_STYLE = {"completed": "green", "error": "red", "interrupted": "yellow", "max_turns": "yellow",
                 "incomplete": "dim"}
_OUTCOME_STYLE = {"satisfied": "green", "needs_revision": "yellow", "failed": "red", "error": "red",
                  "max_iterations_reached": "yellow", "partial": "cyan"}


def _fmt_tokens(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


def _cost(value: Any) -> str:
    """A cost the same way everywhere: '-' when unknown (imported sessions), else dollars to 4 places."""
    return f"${value:.4f}" if isinstance(value, int | float) else "-"


def render_session_list(rows: Iterable[Any]) -> None:
    """The sessions table: at 80 columns the counts go first, then cost and start; ids are never cut."""
    rows = list(rows)
    if not rows:
        note("no sessions match")  # plain on a pipe: an empty listing starts no Rich console
        return
    from rich.markup import escape

    from dreamcli.ui.tables import Col, print_table

    cols = [Col("id", kind="id"), Col("started", priority=3), Col("task", priority=1), Col("status"),
            Col("turns", kind="num", priority=6, justify="right"), Col("tokens", kind="num", priority=5,
                                                                       justify="right"),
            Col("cost", kind="num", priority=4, justify="right"), Col("outcome", priority=2)]
    table_rows = []
    for s in rows:
        indent = "  └ " if s.parent_session_id else ""
        outcome = s.outcome or "-"
        if s.score is not None and s.outcome:
            outcome += f" ({s.score:.2f})"
        table_rows.append([
            indent + s.session_id,
            (s.started or "-")[:19].replace("T", " "),
            escape(s.task or "-"),
            f"[{_STATUS_STYLE.get(s.status, '')}]{s.status}[/]" if s.status in _STATUS_STYLE else s.status,
            "-" if s.turns is None else str(s.turns),
            _fmt_tokens(s.tokens),
            _cost(s.cost_usd),
            f"[{_OUTCOME_STYLE[s.outcome]}]{outcome}[/]" if s.outcome in _OUTCOME_STYLE else outcome,
        ])
    print_table(cols, table_rows)


def _short(value: Any, limit: int = 400) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more chars]"


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def render_transcript(events: list[dict[str, Any]], stats: Any, grades: list[dict[str, Any]],
                      children: list[dict[str, Any]]) -> None:
    from rich.markup import escape

    con = out()
    tools: dict[str, dict[str, Any]] = {e["tool_use_id"]: e for e in events if e.get("type") == "tool"}
    prompt_shown: str | None = None  # the task prompt, printed once: not again as the first user message
    for e in events:
        t = e.get("type")
        if t == "session.start":
            task = e.get("task") or {}
            con.print(f"[bold]session {e.get('session_id')}[/]  {e.get('ts', '')}  source={e.get('source')}")
            con.print(f"task: {escape(str(task.get('name') or '-'))}  model: {e.get('model') or '-'}  "
                      f"workdir: {escape(str(e.get('workdir') or '-'))}")
            if e.get("parent_session_id"):
                con.print(f"parent: {e['parent_session_id']}")
            for pb in e.get("playbooks") or []:
                con.print(f"playbook {pb.get('playbook')} v{pb.get('version')}: "
                          f"{count(len(pb.get('entry_ids') or []), 'entry')} in context", style="dim")
            if task.get("prompt"):
                con.print(f"[bold cyan]task prompt[/] {escape(_short(task['prompt'], 2000))}")
                prompt_shown = str(task["prompt"])
        elif t == "message":
            role = e.get("role")
            for b in _blocks(e.get("content")):
                bt = b.get("type")
                if bt == "text" and b.get("text"):
                    if role == "user" and prompt_shown is not None and b["text"].strip() == prompt_shown.strip():
                        prompt_shown = None
                        continue
                    style = "bold cyan" if role == "user" else "bold magenta"
                    con.print(f"[{style}]{role}[/] {escape(b['text'])}")
                elif bt == "tool_use":
                    fact = tools.get(b.get("id", ""), {})
                    dur = fact.get("duration_ms")
                    con.print(f"  [blue]→ {escape(str(b.get('name')))}[/] {escape(_short(b.get('input'), 200))}"
                              + (f" [dim]({dur:.0f} ms)[/]" if isinstance(dur, int | float) else ""))
                elif bt == "tool_result":
                    text = _short(_result_text(b.get("content")), 300)
                    if b.get("is_error"):
                        con.print(f"  [bold red]✗ error[/] [red]{escape(text)}[/]")
                    else:
                        con.print(f"  [green]✓[/] [dim]{escape(text)}[/]")
        elif t == "outcome.evaluation":
            res = str(e.get("result"))
            why = escape(_short(e.get("explanation") or "", 300))
            con.print(f"[bold]evaluation[/] {e.get('outcome')} #{e.get('iteration')}: "
                      f"[{_OUTCOME_STYLE.get(res, '')}]{res}[/]  {why}")
        elif t == "subagent":
            con.print(f"[bold yellow]sub-agent {e.get('event')}[/] {e.get('child_session_id')} "
                      f"{escape(_short(e.get('brief') or '', 120))} {e.get('status') or ''}")
        elif t == "session.end":
            totals = e.get("totals") or {}
            style = _STATUS_STYLE.get(str(e.get("status") or ""), "")
            con.print(f"[bold]end[/] [{style}]{e.get('status')}[/]  turns={totals.get('turns', '-')} "
                      f"tokens={totals.get('input_tokens', 0) + totals.get('output_tokens', 0)} "
                      f"cost={_cost(totals.get('cost_usd'))}"
                      + (f"  [red]{escape(str(e.get('error')))}[/]" if e.get("error") else ""))
    if children:
        render_children_tree(children)
    for g in grades:
        con.print(f"[bold]grade[/] {g.get('outcome')}: [{_OUTCOME_STYLE.get(str(g.get('result')), '')}]"
                  f"{g.get('result')}[/] score={g.get('score')}")
    if stats.skipped:
        err().print(f"skipped {stats.skipped} unreadable line(s): "
                    f"{stats.corrupt} corrupt, {stats.truncated} truncated, {stats.unsupported} newer version",
                    style="yellow")


def render_children_tree(children: list[dict[str, Any]]) -> None:
    """A lead's sub-agents as a tree: status, turns, tokens, cost, then the brief and the final answer
    (or the error) of each child."""
    from rich.markup import escape
    from rich.tree import Tree

    tree = Tree(f"[bold]sub-agents ({len(children)})[/]", guide_style="dim")
    for c in children:
        status = str(c.get("status") or "-")
        tokens = c.get("tokens")
        facts = [f"[{_STATUS_STYLE.get(status, '')}]{status}[/]" if status in _STATUS_STYLE else escape(status)]
        if c.get("turns") is not None:
            facts.append(f"{c['turns']} turn{'s' if c['turns'] != 1 else ''}")
        if tokens is not None:
            facts.append(f"{_fmt_tokens(tokens)} tokens")
        if c.get("cost_usd") is not None:
            facts.append(f"${c['cost_usd']:.4f}")
        node = tree.add(f"[bold]{c.get('session_id')}[/]  " + " · ".join(facts))
        if c.get("brief"):
            node.add(f"[cyan]brief[/] {escape(_short(c['brief'], 300))}")
        if c.get("error") and status != "completed":
            node.add(f"[red]error[/] {escape(_short(str(c['error']), 300))}")
        if c.get("final_text"):
            node.add(f"[magenta]answer[/] {escape(_short(c['final_text'], 600))}")
    out().print(tree)


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
    return "\n".join(parts) if parts else _short(content)
