"""The words of `dreamcli run`'s live view that are pure text: counts, durations, token figures and
the summary line a run ends with (`completed · 3 turns · 2 tool calls · 1.2k tokens · $0.0123 · …`).

    summary_line(result, tally.to_json(), threshold)   # the run view styles and prints it

No Rich and no terminal here: the run view (dreamcli.ui.run_view) decides how and where it is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dreamcli.orchestration.tally import tokens_of
from dreamcli.ui.plural import count

if TYPE_CHECKING:
    from dreamcli.agent.results import RunResult
    from dreamcli.agent.usage import Totals


def short(text: str, width: int = 70) -> str:
    """`text` on one line (runs of whitespace as one space), cut with `…` past `width` characters, between
    whole graphemes (an emoji ZWJ sequence, a letter and its accents) and whole escapes (`\\u202e`)."""
    from dreamcli.ui.graphemes import cut_chars

    return cut_chars(" ".join(text.split()), width)


def duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def tokens(n: int) -> str:
    if n >= 10_000_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


def summary_line(result: RunResult, subagents: dict[str, Any], threshold: float | None) -> str:
    """The run's last line: status, turns, tool calls, tokens, cost (with its sub-agents' when there
    were any), duration, session id and the outcome's verdict. `subagents`: `SubagentTally.to_json()`;
    `threshold`: the outcome's pass threshold, so a failing score is printed beside what it needed."""
    t = result.totals
    tools = count(t.tool_calls, "tool call") + (f" ({count(t.tool_errors, 'error')})" if t.tool_errors else "")
    summary = (f"{result.status} · {count(t.turns, 'turn')} · {tools} · {tokens(tokens_of(t))} tokens · "
               f"${t.cost_usd:.4f}{_subagents_part(t, subagents)} · {duration(t.duration_ms)} · "
               f"session {result.session_id}")
    outcome = (result.end_fields or {}).get("outcome")
    if isinstance(outcome, dict) and outcome.get("result"):
        bits = []
        if isinstance(outcome.get("score"), int | float):
            from dreamcli.outcomes.scoretext import score_pair

            if isinstance(threshold, int | float) and outcome["result"] != "satisfied":
                got, required = score_pair(outcome["score"], threshold)
                bits.append(f"{got}, required {required}")
            else:
                bits.append(f"{outcome['score']:.2f}")
        if isinstance(outcome.get("iterations"), int):
            bits.append(count(outcome["iterations"], "iteration"))
        summary += f" · outcome {outcome['result']}" + (f" ({', '.join(bits)})" if bits else "")
    return summary


def _subagents_part(lead: Totals, subs: dict[str, Any]) -> str:
    """` · N sub-agents: T tokens, $C · in all T tokens, $C` (nothing when none started)."""
    if not subs["count"]:
        return ""
    total_cost = lead.cost_usd + subs["cost_usd"]
    return (f" · {count(subs['count'], 'sub-agent')}: {tokens(subs['tokens'])} tokens, ${subs['cost_usd']:.4f}"
            f" · in all {tokens(tokens_of(lead) + subs['tokens'])} tokens, ${total_cost:.4f}")
