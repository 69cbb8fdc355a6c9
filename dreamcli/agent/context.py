"""What the model sees before the task: the system prompt and the approved playbooks in it.

Playbooks placed for a run (`select_playbooks`):
- the one named by `--playbook NAME`, else the task's `playbook:`, else config `playbooks.default`
  -- when that file exists in the workspace;
- unless `--playbook` was given, also config `playbooks.default` when the task names another one: it
  holds the workspace-wide lessons (what `dreamcli dream` proposes into by default);
- every other live playbook whose front matter `scope.tasks` contains the task name or whose
  `scope.tags` shares a tag with the task.
Only entries are placed (with their ids, grouped by section); the `<!-- dc: -->` metadata is not.
`session.start.playbooks` records `[{playbook, version, entry_ids}]` for exactly what was placed.
Parsing is done by `dreamcli.playbooks` (docs/playbook-format.md); a malformed primary playbook is an input
error (exit 2), a malformed scoped one is skipped with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.errors import InputError
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.playbooks.trial import Trial

PlaybookLoader = Callable[[Workspace, str], Any]  # (ws, name) -> Playbook | None

BASE_PROMPT = """\
You are an autonomous agent started by dreamcli on the user's machine. Your working directory is
{workdir}; file paths are relative to it. Use the tools to inspect and change things rather than
guessing, check your work, and keep going until the task is done. When you are finished, reply with
a short final answer for the user (no further tool calls).
"""

MEMORY_PROMPT = """\
You have a persistent memory directory, /memories, through the memory tool. View it before you start
for notes from earlier runs, and record what a future run of this kind of task should know (what
worked, what failed, where things are). Keep notes short and current; memories are not the place
for secrets or personal data.
"""

PLAYBOOK_INTRO = """\
# Playbooks

The guidance below was learned from earlier runs and approved by the people responsible for this
agent. Follow it where it applies. Each entry has an id in brackets; when an entry decides what you
do, or turns out to be wrong for this task, mention its id briefly in your messages (not in the
files you write).
"""


@dataclass
class PlacedPlaybook:
    """A playbook placed in context: its name, version, the entry ids placed and their text."""

    name: str
    version: int
    entry_ids: list[str]
    text: str
    description: str = ""

    def record(self) -> dict[str, Any]:
        return {"playbook": self.name, "version": self.version, "entry_ids": list(self.entry_ids)}


@dataclass
class Selection:
    placed: list[PlacedPlaybook] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: str | None = None  # the primary playbook name when it does not exist
    trial: Trial | None = None  # the trial `--with-proposal` placed (its sub-agents place it as it is)


def _default_loader(ws: Workspace, name: str) -> Any:
    from dreamcli.playbooks import load_playbook

    return load_playbook(ws, name)


def render_playbook_for_prompt(pb: Any) -> tuple[str, list[str]]:
    """Entries grouped by section as `- [id] text`; returns (text, entry ids)."""
    lines: list[str] = []
    ids: list[str] = []
    current: object = object()
    for entry in pb.entries():
        if entry.section != current:
            current = entry.section
            if entry.section:
                lines.append(f"\n### {entry.section}\n")
        text = "\n  ".join(entry.text.splitlines())
        lines.append(f"- [{entry.id}] {text}")
        ids.append(entry.id)
    return "\n".join(lines).strip("\n"), ids


def place(pb: Any, name: str | None = None) -> PlacedPlaybook | None:
    text, ids = render_playbook_for_prompt(pb)
    if not ids:
        return None
    return PlacedPlaybook(name=name or pb.name, version=pb.version, entry_ids=ids, text=text,
                          description=pb.description)


def select_playbooks(
    ws: Workspace,
    *,
    task_name: str | None,
    tags: Iterable[str] = (),
    primary: str | None,
    enabled: bool = True,
    loader: PlaybookLoader | None = None,
    workspace_default: str | None = None,
) -> Selection:
    """The playbooks to place for a run (see the module docstring). `workspace_default` (the config's
    default playbook, holding workspace-wide lessons) is placed too when it exists and is not the primary."""
    sel = Selection()
    if not enabled:
        return sel
    load = loader or _default_loader
    seen: set[str] = set()
    if primary:
        pb = load(ws, primary)
        seen.add(primary)
        if pb is None:
            sel.missing = primary
        else:
            placed = place(pb, primary)
            if placed is not None:
                sel.placed.append(placed)
    if workspace_default and workspace_default not in seen:
        seen.add(workspace_default)
        pb = load(ws, workspace_default)
        placed = place(pb, workspace_default) if pb is not None else None
        if placed is not None:
            sel.placed.append(placed)
    if not task_name and not tags:
        return sel
    from dreamcli.playbooks import list_playbook_names

    tagset = set(tags)
    for name in list_playbook_names(ws):
        if name in seen:
            continue
        try:
            pb = load(ws, name)
        except InputError as e:
            sel.warnings.append(f"playbook {name} skipped: {e}")
            continue
        if pb is None:
            continue
        scope = pb.scope
        tasks = scope.get("tasks") or []
        scope_tags = scope.get("tags") or []
        if (task_name and isinstance(tasks, list) and task_name in tasks) or (
            isinstance(scope_tags, list) and tagset & {str(t) for t in scope_tags}
        ):
            placed = place(pb, name)
            if placed is not None:
                sel.placed.append(placed)
    return sel


def select_for_run(
    ws: Workspace,
    *,
    task_name: str | None,
    tags: Iterable[str],
    primary: str | None,
    explicit: str | None,
    enabled: bool,
    loader: PlaybookLoader | None,
    with_proposal: str | None,
    workspace_default: str | None = None,
    inherited: Trial | None = None,
) -> tuple[Selection, dict[str, Any]]:
    """`select_playbooks` for a run, with `--with-proposal DREAM_ID` (a dream's pending entries
    applied to its playbook in memory, never approved; their text vetted as approval vets it, an entry
    with a block finding left out with a warning). Returns the selection (`trial`: the trial placed) and
    the fields session.start records for a trial (`with_proposal`: the dream id; `trial`: what was applied).
    A trial that places nothing is refused (UsageError) -- unless it is `inherited`: a sub-agent's, the
    trial its lead placed, placed again as it is, so a decision made while the lead runs changes nothing."""
    if not with_proposal:
        return select_playbooks(ws, task_name=task_name, tags=tags, primary=primary, enabled=enabled,
                                loader=loader, workspace_default=workspace_default), {}
    from dreamcli.errors import UsageError
    from dreamcli.playbooks.trial import blocked_warning, trial_playbook

    if not enabled:
        raise UsageError("--with-proposal places a playbook; it cannot be combined with --no-playbooks")
    trial = inherited if inherited is not None else trial_playbook(ws, with_proposal)
    if inherited is None and (nothing := trial.nothing_placed()) is not None:  # a real run, mistagged
        raise UsageError(nothing)
    if explicit and explicit != trial.name:
        raise UsageError(f"dream {trial.dream_id} proposes entries for playbook {trial.name!r}, "
                         f"not {explicit!r} (drop --playbook)")
    sel = select_playbooks(ws, task_name=task_name, tags=tags, primary=trial.name, enabled=True,
                           loader=trial.loader())
    for entry_id, reason in trial.refused:
        sel.warnings.append(f"proposed entry {entry_id} not applied: {reason}")
    sel.warnings += [blocked_warning(entry_id, why) for entry_id, why in trial.blocked]
    sel.trial = trial
    return sel, {"with_proposal": trial.dream_id, "trial": trial.record()}


def system_prompt(workdir: Path, tool_names: Iterable[str], playbooks: list[PlacedPlaybook]) -> str:
    """The stable system prompt: instructions, memory guidance, playbooks (cached as one prefix)."""
    parts = [BASE_PROMPT.format(workdir=workdir)]
    if "memory" in tool_names:
        parts.append(MEMORY_PROMPT)
    if playbooks:
        parts.append(PLAYBOOK_INTRO)
        for p in playbooks:
            head = f"## Playbook: {p.name} (version {p.version})"
            if p.description:
                head += f"\n{p.description.strip()}"
            parts.append(f"{head}\n\n{p.text}\n")
    return "\n".join(parts).rstrip() + "\n"
