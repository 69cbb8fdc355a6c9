"""Playbooks: the markdown format, the store with history, proposals, approval and audit."""

from dreamcli.playbooks.format import parse_playbook, render_entry, render_playbook, token_estimate
from dreamcli.playbooks.model import (
    ID_RE,
    Entry,
    Playbook,
    estimate_tokens,
    new_playbook,
    normalize_text,
    text_matches,
)
from dreamcli.playbooks.store import list_playbook_names, load_playbook, playbook_path

__all__ = [
    "ID_RE",
    "Entry",
    "Playbook",
    "estimate_tokens",
    "list_playbook_names",
    "load_playbook",
    "new_playbook",
    "normalize_text",
    "parse_playbook",
    "playbook_path",
    "render_entry",
    "render_playbook",
    "text_matches",
    "token_estimate",
]
