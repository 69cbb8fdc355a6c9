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
}

_LEADING = re.compile(r"^\s*(no|nope|again|actually|please|ok|okay|so)\b[\s,:;.!-]*", re.I)


def readable(template: str) -> str:
    """A masked template as a person reads it: `<file.docx>` -> FILE.docx, `<n>` -> N, `<q>` -> '...'."""
    s = re.sub(r"<file\.([\w.]+)>", r"FILE.\1", template)
    s = s.replace("<n>", "N").replace("<q>", "'…'").replace("<path>", "PATH").replace("<hex>", "HEX")
    return s.replace("<id>", "ID")


def tool_name(label: str) -> str:
    return label.split(":", 1)[1] if label.startswith("bash:") else label


def _sessions(n: int) -> str:
    return f"{n} session{'s' if n != 1 else ''}"


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def offline_text(c: Candidate) -> str:
    f = c.facts
    kind = c.kind
    if kind == "error_recovery":
        tool = tool_name(f["tool"])
        where = f" on a `.{f['file_type']}` file" if f.get("file_type") else ""
        err = readable(f["error"])
        if f.get("file_type"):
            err = re.sub(r"^FILE\.[\w.]+\s*(is\s+)?(a\s+)?", "", err) or err
        rec_tool = tool_name(f.get("recovery_tool", ""))
        verb = f"convert it first with {_code(f['recovery'])}" if f.get("file_type") else (
            f"use {_code(rec_tool)} instead, e.g. {_code(f['recovery'])}" if rec_tool and rec_tool != tool
            else f"retry as {_code(f['recovery'])}")
        text = (f"When {_code(tool)} fails{where} with {_quote(err)}, {verb}; "
                f"worked in {c.successes} of {_sessions(c.support)}.")
        alts = f.get("alternatives") or []
        if alts:
            text += " Also worked: " + ", ".join(f"{_code(a['example'])} ({_sessions(a['sessions'])})"
                                                 for a in alts) + "."
        return text
    if kind == "tool_error":
        return (f"{_code(tool_name(f['tool']))} keeps failing with {_quote(readable(f['error']))} "
                f"({_sessions(c.support)}) and no retry fixed it; check its input first or report the problem "
                f"early instead of retrying.")
    if kind == "correction":
        text = _LEADING.sub("", f["text"]).strip()
        text = text[:1].upper() + text[1:]
        if text and text[-1] not in ".!?":
            text += "."
        return f"{text} (Users asked for this in {_sessions(c.support)}.)"
    if kind == "criterion":
        text = (f"Before finishing a {_code(f['outcome'])} run, check the {_code(f['criterion'])} criterion: it "
                f"failed in {f['failed']} of {f['graded']} graded runs")
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
