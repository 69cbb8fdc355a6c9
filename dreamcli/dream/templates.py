"""Offline synthesis: entry text written from the evidence by templates that read naturally
("When `read` fails on a .docx file with ..., convert it first: ...; worked in 7 of 8 sessions")."""

from __future__ import annotations

import re

from dreamcli.dream.candidates import Candidate

REASONS = {
    "error_recovery": "recurring tool error with a recovery",
    "tool_error": "recurring tool error without a reliable recovery",
    "correction": "repeated user correction",
    "criterion": "outcome criterion failing across graded runs",
    "loop": "repeated identical calls",
    "cost_outlier": "cost outliers",
    "memory_note": "note the agent kept writing to its memory",
    "flaky": "the same call failed, then passed unchanged",
}

_LEADING = re.compile(r"^\s*((no|nope|again|actually|please|ok|okay|so|and|also|remember|as I said|I said|"
                      r"like I said|wrong|that'?s wrong)\b[\s,:;.!—–-]*)+", re.I)
_PLEASE = re.compile(r",?\s*\bplease\b,?", re.I)
VERBS = frozenset({
    "use", "cite", "prefer", "keep", "write", "put", "run", "add", "avoid", "check", "always", "never", "don't",
    "dont", "do", "name", "list", "include", "remove", "call", "read", "save", "return", "make", "follow",
    "stop", "start", "ask", "test", "format", "sort", "quote", "show", "leave", "mention", "give", "set",
    "pass", "reply", "answer", "respond", "convert", "search", "open", "install", "build", "create", "delete",
    "skip", "try", "wait", "commit", "push", "split", "merge", "document", "note", "link", "store", "load",
    "refer", "mark", "count", "compare", "verify", "double-check", "attach", "respect", "reuse",
})
_SHAPE = re.compile(r"^(?P<x>.+?),?\s+(?P<how>not|instead of|rather than)\s+(?P<y>.+?)$", re.I)


def imperative(variants: list[str], fallback: str) -> str:
    """One imperative sentence for a correction said in several wordings: the variant that is already
    an instruction and covers most of what all of them say ("Cite clauses by section number, not by
    page."), else the most complete one turned into "Use X, not Y"."""
    from dreamcli.words import stems

    cleaned = []
    for v in variants or [fallback]:
        t = _PLEASE.sub("", _LEADING.sub("", v)).strip(" \t,;:-")
        if t:
            cleaned.append(t[:1].upper() + t[1:])
    if not cleaned:
        return fallback
    counts: dict[str, int] = {}
    for t in cleaned:
        for w in stems(t):
            counts[w] = counts.get(w, 0) + 1
    shared = {w for w, n in counts.items() if n >= 2} or set(counts)  # what most wordings say
    ranked = sorted(cleaned, key=lambda t: (-len(stems(t) & shared), len(t)))
    orders = [t for t in ranked if t.split()[0].lower().strip(",:") in VERBS]
    text = orders[0] if orders else ranked[0]
    if not orders and (m := _SHAPE.match(text.rstrip(".!"))) and m.group("x").split()[0].lower() not in VERBS:
        text = f"Use {m.group('x')[:1].lower() + m.group('x')[1:]}, not {m.group('y')}"
    return text if text[-1] in ".!?" else text + "."


def readable(template: str) -> str:
    """A masked template as a person reads it: `<file.docx>` -> FILE.docx, `<n>` -> N, `<q>` -> '...'."""
    s = re.sub(r"<file\.([\w.]+)>", r"FILE.\1", template)
    # a masked path stays visibly a placeholder: "PATH" would read as the environment variable
    s = s.replace("<n>", "N").replace("<q>", "'…'").replace("<path>", "<path>").replace("<hex>", "HEX")
    return s.replace("<id>", "ID")


def tool_name(label: str) -> str:
    return label.split(":", 1)[1] if label.startswith("bash:") else label


def _sessions(n: int) -> str:
    return f"{n} session{'s' if n != 1 else ''}"


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _then(steps: list[str], made: str) -> str:
    """The later steps of a fix that is a chain of calls, each reading what the one before made:
    ", then read the converted file with `pandoc -t plain FILE.docx`"."""
    if not steps:
        return ""
    return "".join(f", then {_code(s)}" for s in steps[:-1]) + f", then read {made} with {_code(steps[-1])}"


def offline_text(c: Candidate) -> str:
    f = c.facts
    kind = c.kind
    if kind == "error_recovery":
        tool = tool_name(f["tool"])
        where = f" on a `.{f['file_type']}` file" if f.get("file_type") else ""
        err = readable(f["error"])
        if f.get("file_type") and not f.get("command"):
            err = re.sub(r"^FILE\.[\w.]+\s*(is\s+)?(a\s+)?", "", err) or err
        rec_tool = tool_name(f.get("recovery_tool", ""))
        then = _then(f.get("then") or [], "its output" if f.get("command") or not f.get("file_type")
                     else "the converted file")
        if f.get("command"):  # a command failed: state the fix as a command, and when to run it
            text = (f"When {_code(f['command'])} fails with {_quote(err)}, run {_code(f['recovery'])} instead{then}; "
                    f"worked in {c.successes} of {_sessions(c.support)}.")
        else:
            verb = f"convert it first with {_code(f['recovery'])}" if f.get("file_type") else (
                f"use {_code(rec_tool)} instead, e.g. {_code(f['recovery'])}" if rec_tool and rec_tool != tool
                else f"retry as {_code(f['recovery'])}")
            text = (f"When {_code(tool)} fails{where} with {_quote(err)}, {verb}{then}; "
                    f"worked in {c.successes} of {_sessions(c.support)}.")
        if f.get("why"):  # the agent's own reason, whether or not the failing command was the same each time
            text += f" Why: {_quote(f['why'].rstrip('.'))}."
        alts = f.get("alternatives") or []
        if alts:
            text += " Also worked: " + ", ".join(f"{_code(a['example'])} ({_sessions(a['sessions'])})"
                                                 for a in alts) + "."
        return text
    if kind == "tool_error":
        head = f"{_code(f.get('command') or tool_name(f['tool']))} keeps failing with {_quote(readable(f['error']))}"
        if f.get("fixed"):  # a later call did fix it, in too few sessions to recommend it
            fix = f" (e.g. {_code(f['fix_example'])})" if f.get("fix_example") else ""
            return (f"{head} ({_sessions(c.support)}); a later call fixed it in only {f['fixed']} of them{fix}; "
                    f"check its input first or report the problem early instead of retrying.")
        return (f"{head} ({_sessions(c.support)}) and no retry fixed it; check its input first or report the "
                f"problem early instead of retrying.")
    if kind == "correction" and f.get("conflict"):
        sides = " and ".join(f"{_sessions(x['sessions'])} {_quote(imperative(x['variants'] or [x['text']], x['text']))}"
                             for x in f["conflict"])
        return (f"Conflicting corrections, neither proposed: users asked for opposite things ({sides}); "
                f"settle which one holds and add it by hand.")
    if kind == "correction":
        text = imperative(f.get("variants") or [f["text"]], f["text"])
        wordings = f.get("wordings") or 1
        said = f", in {wordings} wordings" if wordings > 1 else ""
        return f"{text} (Users asked for this in {_sessions(c.support)}{said}.)"
    if kind == "flaky":
        test = f" (test {_code(f['test'])})" if f.get("test") else ""
        how = []
        if f.get("retried"):
            how.append(f"failed then passed unchanged in {_sessions(f['retried'])}")
        if f.get("passed_elsewhere"):
            how.append(f"passed without a change in {_sessions(f['passed_elsewhere'])}")
        return (f"{_code(f.get('command') or tool_name(f['tool']))}{test} is flaky: {' and '.join(how)}; it failed "
                f"with {_quote(readable(f['error']))} in {_sessions(f['failed'])}.")
    if kind == "criterion":
        failed = f"failed in {f['failed']} of {f['graded']} graded runs"
        example = f", e.g. {_quote(f['reason'])}" if f.get("reason") else ""
        if f.get("description"):  # what a passing run does, in the outcome spec's words
            what = f["description"].strip().rstrip(".")
            return (f"Before finishing a {_code(f['outcome'])} run, make sure: {what}. (Criterion "
                    f"{_code(f['criterion'])}; it {failed}{example}.)")
        text = f"Before finishing a {_code(f['outcome'])} run, check the {_code(f['criterion'])} criterion: it {failed}"
        return text + (f" (e.g. {_quote(f['reason'])})." if f.get("reason") else ".")
    if kind == "loop":
        return (f"Don't repeat an identical call: {_code(f['example'])} ran three or more times with the same "
                f"input in {_sessions(c.support)}; reuse the first result or change the approach.")
    if kind == "cost_outlier":
        text = (f"Keep {_code(f['task'])} runs lean: {f['outliers']} of {f['episodes']} cost over 3x the median "
                f"(${f['outlier_cost']:.2f} vs ${f['median_cost']:.2f})")
        if f.get("truncated"):
            text += (f"; the costly runs pulled whole outputs into context (truncated tool output in "
                     f"{f['truncated']} of {f['outliers']}")
            text += f", e.g. {_code(f['example'])})" if f.get("example") else ")"
            return text + ". Search (grep, zgrep) or read parts (head, tail) instead."
        return text + f"; they made {f['outlier_calls']} tool calls on average vs {f['median_calls']}."
    if kind == "memory_note":
        note = f["text"].strip()
        return f"{note} (Noted by the agent in memory {_code(f['path'])} in {_sessions(c.support)}.)"
    raise ValueError(f"unknown candidate kind {kind!r}")
