"""The human report of a dream (report.md): what was found, its support, evidence excerpts with
session ids, lint findings, what was left out and why, and how to review it."""

from __future__ import annotations

from typing import Any

from dreamcli.dream.synthesis_answer import TOOL_NAME
from dreamcli.playbooks.proposal_model import Proposal
from dreamcli.sessions.running import RUNNING_GRACE_S

OP_WORDS = {"add": "new entry", "update": "update", "merge": "merge", "retire": "retire", "counts": "counts",
            "create": "new note", "counts_only": "counts"}


_PLURALS = {"add": "new entries", "create": "new notes", "counts": "count updates", "update": "updates",
            "merge": "merges", "retire": "retirements"}


# why a candidate that recurred was not proposed (`reason` of Curated.dropped), in the order a summary lists them
NOT_PROPOSED = {"conflicting": "conflicting", "awaiting_review": "awaiting review",
                "rejected_before": "rejected before", "injection": "injection-like",
                "model_declined": "left out by the model", "over_budget": "over budget", "other": "other"}


def not_proposed_counts(dropped: list[dict[str, Any]]) -> dict[str, int]:
    """How many candidates recurred but were left out, by reason (each key once), in NOT_PROPOSED's order."""
    reasons: dict[str, str] = {}
    for d in dropped:
        reason = d.get("reason")
        reasons.setdefault(str(d.get("key")), reason if reason in NOT_PROPOSED else "other")
    found = list(reasons.values())
    return {r: found.count(r) for r in NOT_PROPOSED if r in found}


def not_proposed_line(counts: dict[str, int]) -> str | None:
    """One sentence: "2 patterns recurred but were not proposed (1 conflicting, 1 awaiting review).";
    None when nothing was left out (then nothing recurred often enough)."""
    total = sum(counts.values())
    if not total:
        return None
    parts = ", ".join(f"{n} {NOT_PROPOSED.get(r, r)}" for r, n in counts.items() if n)
    many = total != 1
    return f"{total} pattern{'s' if many else ''} recurred but {'were' if many else 'was'} not proposed ({parts})."


def fallback_line(stats: dict[str, Any]) -> str | None:
    """One sentence when model answers fell back to templates ("1 of 2 batches of candidates fell back …"),
    for stderr and report.md; None when none did. An older dream.json without `model_batches`: "N batches"."""
    n = int(stats.get("model_fallbacks") or 0)
    if n <= 0:
        return None
    of = stats.get("model_batches")
    total = int(of) if isinstance(of, int) and of >= n else None
    many = (total or n) != 1
    count = f"{n} of {total}" if total is not None else str(n)
    return (f"{count} batch{'es' if many else ''} of candidates fell back to template text (the model's answer "
            f"had no valid {TOOL_NAME} call): their entries were written from templates, not by the model")


def deferred_line(inputs: dict[str, Any] | None) -> str | None:
    """One sentence for the sessions a dream set aside as still running (`inputs.deferred`): how many, why, and
    when a dream reads them; None when it set none aside. A killed run looks running until it has been idle
    that long, so without this line its session seemed lost ("nothing new")."""
    n = (inputs or {}).get("deferred")
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        return None
    minutes = RUNNING_GRACE_S // 60
    one = n == 1
    return (f"{n} session{'' if one else 's'} set aside as still running (no end yet, active in the last "
            f"{minutes} minutes): a later dream reads {'it' if one else 'them'} once {'it has' if one else 'they have'}"
            f" ended or been idle for {minutes} minutes.")


def _count(n: int, op: str) -> str:
    return f"{n} {OP_WORDS.get(op, op) if n == 1 else _PLURALS.get(op, op)}"


def _support(op: dict[str, Any]) -> str:
    s = op.get("support") or {}
    n = s.get("sessions")
    if not n:
        return ""
    text = f"{n} session{'s' if n != 1 else ''}"
    if s.get("successes") is not None and op.get("kind") == "error_recovery":
        text += f", the fix worked in {s['successes']}"
    if s.get("total_sessions") and op.get("kind") in ("criterion", "cost_outlier"):
        text += f" of {s['total_sessions']}"
    return text


def _quote(text: str | None) -> list[str]:
    return [f"> {line}" if line else ">" for line in (text or "").splitlines()] or [">"]


def _evidence(op: dict[str, Any]) -> list[str]:
    lines = []
    for ev in op.get("evidence") or []:
        where = f"`{ev['session_id']}`" if ev.get("session_id") else "memory store"
        if ev.get("seq") is not None:
            where += f" (line {ev['seq']})"
        lines.append(f"  - {where}: {ev.get('excerpt', '')}")
    return lines


def _lint(findings: list[dict[str, Any]]) -> list[str]:
    return [f"- **{f['severity'].upper()}** `{f['rule']}`: {f['message']}" for f in findings]


def render_report(*, dream: dict[str, Any], proposal: Proposal, dropped: list[dict[str, Any]],
                  near_misses: list[str]) -> str:
    """report.md: the proposal as a person reads it, rendered from its stored (JSON) form."""
    return _render(dream, proposal.to_json(), dropped, near_misses)


def _render(dream: dict[str, Any], proposal: dict[str, Any], dropped: list[dict[str, Any]],
            near_misses: list[str]) -> str:
    ops = proposal["operations"]
    inputs = dream.get("inputs", {})
    lines = [f"# Dream {dream['dream_id']}", ""]
    model = dream["usage"].get("model")  # none when nothing it proposed needed a model's words (counts only)
    how = ("offline (templates, no model)" if dream.get("offline") else
           f"with model `{model}`" if model else "with no model call (nothing needed one)")
    lines += [f"Playbook `{proposal['playbook']}` (version {proposal['base_version']}), memory store "
              f"`{proposal['memory_store']}`; dreamed {how} on {dream['created']}.", "",
              f"Read {inputs.get('sessions', 0)} sessions ({inputs.get('episodes', 0)} episodes, "
              f"{inputs.get('bytes', 0) / 1e6:.1f} MB, selection: {inputs.get('selection')}); "
              f"{inputs.get('graded', 0)} graded. Support counts distinct episodes: a lead session and its "
              f"sub-agents count once.", ""]
    if fell_back := fallback_line(dream.get("stats") or {}):
        lines += [f"**{fell_back}.**", ""]
    if inputs.get("hidden_characters"):
        lines += [f"Stripped {inputs['hidden_characters']} zero-width or bidi control character(s) from session text "
                  "before mining; what they were in counts as untrusted.", ""]
    if dream.get("instructions"):
        lines += ["Instructions:", *_quote(dream["instructions"]), ""]
    pb_ops = [op for op in ops if op.get("target") == "playbook"]
    mem_ops = [op for op in ops if op.get("target") == "memory"]
    held = not_proposed_line((dream.get("stats") or {}).get("not_proposed") or {})
    if not ops:
        lines += [f"{held} Nothing changes; see \"Not proposed\" below." if held else
                  "Nothing recurred often enough to propose. Nothing changes.", ""]
    else:
        counts: dict[str, int] = {}
        for op in ops:
            counts[op["op"]] = counts.get(op["op"], 0) + 1
        summary = ", ".join(_count(n, k) for k, n in counts.items())
        blocking = sum(1 for op in ops for f in op.get("lint") or [] if f.get("severity") == "block")
        lines += [f"**Proposed:** {summary}." + (f" **{blocking} blocking lint finding(s).**" if blocking else ""),
                  *(["", held] if held else []),  # what recurred but was held back: listed under "Not proposed"
                  "", "Nothing is live until a person approves it:", "",
                  f"    dreamcli playbooks diff {dream['dream_id']}",
                  f"    dreamcli playbooks approve {dream['dream_id']} --entry ID   (or --all)", ""]
    if pb_ops:
        lines += ["## Playbook", ""]
        for i, op in enumerate(pb_ops, 1):
            sup = _support(op)
            lines += [f"### {i}. `{op['entry_id']}` {OP_WORDS.get(op['op'], op['op'])}: {op.get('section') or ''}", ""]
            if op["op"] in ("add", "update", "merge", "counts"):
                lines += _quote(op.get("text"))
                lines.append("")
            changed = op.get("old_text") != op.get("text")
            if op.get("old_text") and op["op"] in ("update", "retire", "merge") and changed:
                lines += ["Was:", *_quote(op["old_text"]), ""]
            why = op.get("reason", "")
            lines.append(f"- Why: {why}" + (f" (support: {sup})" if sup else ""))
            if op.get("merged_ids"):
                lines.append(f"- Merges: {', '.join(f'`{m}`' for m in op['merged_ids'])}")
            meta = op.get("metadata") or {}
            if op["op"] == "counts" or meta.get("helpful") or meta.get("harmful"):
                lines.append(f"- Counts: helpful {meta.get('helpful', 0)}, harmful {meta.get('harmful', 0)}")
            if op.get("taint"):
                lines.append(f"- **Tainted**: its evidence comes only from untrusted content "
                             f"({', '.join(op['taint'])}); `approve --all` leaves it out unless you pass "
                             "--include-tainted")
            if op.get("evidence"):
                lines.append("- Evidence:")
                lines += _evidence(op)
            if op.get("lint"):
                lines += ["- Lint:", *("  " + x for x in _lint(op["lint"]))]
            lines.append("")
    if mem_ops:
        lines += ["## Memory store", ""]
        for op in mem_ops:
            target = op["path"] + (f" (merging {', '.join(op['merged_paths'])})" if op.get("merged_paths") else "")
            lines += [f"- `{op['entry_id']}` {op['op']} `{target}`: {op['reason']}"]
            if op.get("text") and op["op"] != "merge":
                lines += ["", "  ```", *("  " + x for x in op["text"].rstrip().splitlines()), "  ```", ""]
            if op.get("lint"):
                lines += ["  " + x for x in _lint(op["lint"])]
        lines.append("")
    if dream.get("flaky"):
        lines += ["## Flaky", "", "The same call failed, then passed unchanged: a flake to fix or quarantine, not a "
                  "rule to learn (no entry is proposed).", ""]
        for f in dream["flaky"]:
            lines.append(f"- {f['text']}" + (f" Sessions: {', '.join(f'`{s}`' for s in f['sources'][:3])}."
                                             if f.get("sources") else ""))
        lines.append("")
    if proposal.get("lint"):
        lines += ["## Proposal lint", "", *_lint(proposal["lint"]), ""]
    budget = proposal.get("budget") or {}
    lines += ["## Budget and usage", "",
              f"- Playbook size after approval: about {budget.get('tokens_after', 0)} tokens "
              f"(budget {budget.get('token_budget')}, now {budget.get('tokens_before', 0)})."]
    usage = dream.get("usage") or {}
    if usage.get("model_calls"):
        lines.append(f"- Model: {usage['model_calls']} calls, {usage.get('input_tokens', 0)} input tokens "
                     f"({usage.get('cache_read_input_tokens', 0)} read from cache), "
                     f"{usage.get('output_tokens', 0)} output tokens.")
    else:
        lines.append("- No model calls.")
    lines.append("")
    if dropped or near_misses:
        lines += ["## Not proposed", ""]
        for d in dropped[:20]:
            lines.append(f"- `{d['key'][:90]}`: {d['why']}")
        for text in near_misses[:10]:
            lines.append(f"- below the support threshold: {text}")
        lines.append("")
    return "\n".join(lines)
