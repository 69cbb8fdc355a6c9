"""A lead transcript and its sub-agent's imported in two `sessions import` runs, in either order: the child is
not named by its lead's log, and names its lead by session id (a Claude Code agent file imported beside its
lead's transcript) or by transcript only (`import.parent_source_id`: a Codex child, or a Claude Code agent
file imported while its lead's transcript was not on disk)."""

from __future__ import annotations

import json
from pathlib import Path

from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace
from tests.support.transcripts import claude_subagent_file, claude_transcript, codex_rollout, utc

CLAUDE_LEAD = "7f3c2a10-0000-4000-8000-000000000001"
CODEX_LEAD, CODEX_KID = "0199a213-81c0-7800-8aa1-000000000001", "0199a213-81c0-7800-8aa1-000000000002"
CASES = ("claude-lead-first", "claude-child-first", "codex-lead-first", "codex-child-first")


def ids_by_transcript(ws: Workspace) -> dict[str, str]:
    """Session id by `import.source_id`, for every session of `ws`."""
    out = {}
    for p in iter_session_files(ws):
        start = json.loads(p.read_text().splitlines()[0])
        out[start["import"]["source_id"]] = start["session_id"]
    return out


def import_lead(ws: Workspace, src: Path, case: str) -> None:
    """The first run of `case` when it is the lead's (`*-lead-first`); nothing otherwise."""
    if case == "claude-lead-first":
        project = src / "-home-dev-proj"
        claude_transcript(project / f"{CLAUDE_LEAD}.jsonl", session_id=CLAUDE_LEAD, start=utc(2026, 4, 3, 8))
        import_transcripts(ws, "claude-code", project, workers=1)
    elif case == "codex-lead-first":
        codex_rollout(src / "lead", thread_id=CODEX_LEAD, start=utc(2026, 4, 3, 8), seed=1)
        import_transcripts(ws, "codex", src / "lead", workers=1)


def import_child(ws: Workspace, src: Path, case: str) -> None:
    """The sub-agent's run: after its lead's (`*-lead-first`), or before it."""
    if case == "claude-lead-first":  # the project again, now with the agent file
        project = src / "-home-dev-proj"
        claude_subagent_file(project, CLAUDE_LEAD, "a1", utc(2026, 4, 3, 8, 0, 30))
        import_transcripts(ws, "claude-code", project, workers=1)
    elif case == "claude-child-first":
        project = src / "-home-dev-proj"
        claude_subagent_file(project, CLAUDE_LEAD, "a1", utc(2026, 4, 3, 8, 0, 30))
        import_transcripts(ws, "claude-code", project / CLAUDE_LEAD / "subagents", workers=1)
    else:
        codex_rollout(src / "kid", thread_id=CODEX_KID, start=utc(2026, 4, 3, 8, 0, 40), seed=2,
                      parent_thread_id=CODEX_LEAD)
        import_transcripts(ws, "codex", src / "kid", workers=1)


def import_lead_last(ws: Workspace, src: Path, case: str) -> None:
    """The lead's run when it comes second (`*-child-first`); nothing otherwise."""
    if case == "claude-child-first":
        project = src / "-home-dev-proj"
        claude_transcript(project / f"{CLAUDE_LEAD}.jsonl", session_id=CLAUDE_LEAD, start=utc(2026, 4, 3, 8))
        import_transcripts(ws, "claude-code", project / f"{CLAUDE_LEAD}.jsonl", workers=1)
    elif case == "codex-child-first":
        codex_rollout(src / "lead", thread_id=CODEX_LEAD, start=utc(2026, 4, 3, 8), seed=1)
        import_transcripts(ws, "codex", src / "lead", workers=1)


def lead_and_child(ws: Workspace) -> tuple[str, str]:
    """(lead id, child id) of the pair imported above."""
    ids = ids_by_transcript(ws)
    if CLAUDE_LEAD in ids:
        return ids[CLAUDE_LEAD], ids[f"{CLAUDE_LEAD}/agent-a1"]
    return ids[CODEX_LEAD], ids[CODEX_KID]


def import_apart(ws: Workspace, src: Path, case: str) -> tuple[str, str]:
    """Both runs of `case`, in its order; (lead id, child id)."""
    import_lead(ws, src, case)
    import_child(ws, src, case)
    import_lead_last(ws, src, case)
    return lead_and_child(ws)
