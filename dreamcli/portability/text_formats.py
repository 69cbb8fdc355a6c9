"""Single-document exports: `json` (lossless: structured entries plus the exact markdown), `claude-md`
(a CLAUDE.md-ready file) and `agents-md` (AGENTS.md). The markdown formats keep only what an agent
should read: sections and entry texts, without ids or metadata."""

from __future__ import annotations

from typing import Any

from dreamcli import __version__
from dreamcli.playbooks import Playbook
from dreamcli.portability.select import Selected, strict_dumps

MARKER = "<!-- dreamcli:"  # how the lines marking `export --into`'s block begin (dreamcli.portability.into)
JSON_FORMAT = "dreamcli-playbooks"
JSON_VERSION = 1


def render_json(selected: list[Selected], *, created: str, provenance: dict[str, Any],
                sessions: list[dict[str, Any]] | None = None) -> bytes:
    doc: dict[str, Any] = {
        "format": JSON_FORMAT,
        "format_version": JSON_VERSION,
        "dreamcli_version": __version__,
        "created": created,
        "provenance": provenance,
        "playbooks": [_playbook_json(s) for s in selected],
    }
    if sessions is not None:
        doc["sessions"] = sessions
    return (strict_dumps(doc, indent=2) + "\n").encode("utf-8")


def _playbook_json(sel: Selected) -> dict[str, Any]:
    pb = sel.playbook
    return {
        **sel.summary(),
        "description": pb.description,
        "scope": pb.scope,
        "sections": pb.sections,
        "entries": [e.to_dict() for e in pb.entries()],
        "markdown": sel.text,
    }


def _sections(pb: Playbook) -> list[tuple[str | None, list[str]]]:
    """(section title, entry texts) in file order; entries before any heading come first."""
    order: list[str | None] = []
    texts: dict[str | None, list[str]] = {}
    for e in pb.entries():
        if e.section not in texts:
            order.append(e.section)
            texts[e.section] = []
        texts[e.section].append(e.text)
    return [(title, texts[title]) for title in order]


def neutral(text: str) -> str:
    """`text` with each `<!-- dreamcli:` escaped (`\\<!-- dreamcli:`, which markdown shows as it was), so a
    playbook's text never holds a line that reads as a marker of `export --into`'s block."""
    return text.replace(MARKER, "\\" + MARKER)


def _bullet(text: str) -> str:
    lines = neutral(text).split("\n")
    return "- " + lines[0] + "".join(f"\n  {ln}" for ln in lines[1:])


def _body(selected: list[Selected], level: int) -> list[str]:
    h = "#" * level
    out: list[str] = []
    for sel in selected:
        pb = sel.playbook
        if not pb.entries():  # nothing to follow (e.g. every entry reverted): no heading over nothing
            continue
        out.append(f"{h} {pb.name}")
        out.append("")
        if pb.description:
            out.append(neutral(pb.description.strip()))
            out.append("")
        for title, texts in _sections(pb):
            if title:
                out.append(f"{h}# {neutral(title)}")
                out.append("")
            out.extend(_bullet(t) for t in texts)
            out.append("")
    return out


def _provenance_comment(selected: list[Selected], created: str) -> str:
    versions = ", ".join(f"{s.name} v{s.playbook.version}" for s in selected)
    return f"<!-- exported by dreamcli {__version__} from approved playbooks as of {created}: {versions} -->"


def render_claude_md(selected: list[Selected], *, created: str) -> bytes:
    lines = [
        "# Learned playbooks",
        "",
        _provenance_comment(selected, created),
        "",
        "Lessons from past sessions, reviewed and approved by a person. Follow them unless the user "
        "asks otherwise.",
        "",
        *_body(selected, 2),
    ]
    return ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")


def render_agents_md(selected: list[Selected], *, created: str) -> bytes:
    lines = [
        "# AGENTS.md",
        "",
        _provenance_comment(selected, created),
        "",
        "## Learned playbooks",
        "",
        "Guidance distilled from earlier agent sessions and approved by a reviewer. Apply it when it "
        "fits the task; the user's instructions come first.",
        "",
        *_body(selected, 3),
    ]
    return ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")
