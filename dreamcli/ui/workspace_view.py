"""Rendering for the workspace commands (`init`, `schedule show`, `config show`): what they print quotes
paths, and a path may hold any character but `/` and NUL (a directory named `ev\\e]0;PWNED\\a` would retitle
the terminal), so every line goes out with its control characters shown as escapes."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from dreamcli.ui.console import info, neutralise_controls


def print_lines(lines: Iterable[str]) -> None:
    """Plain lines on stdout (data a script may read), each kept on its line, no terminal sequence acting."""
    sys.stdout.write("".join(neutralise_controls(line, one_line=True) + "\n" for line in lines))
    sys.stdout.flush()


def render_init(root: Path, *, existed: bool, git_dir: Path | None, samples: int | None, cmd: str) -> None:
    """`dreamcli init`'s messages on stderr: the workspace, its git history, the sample sessions added and
    the command to try them with (`cmd`: `dreamcli --home ROOT`, ROOT quoted for a shell)."""
    info(neutralise_controls(f"{'Workspace already exists' if existed else 'Created workspace'}: {root}",
                             one_line=True))
    if git_dir is not None:
        info(neutralise_controls(f"playbooks are a git repository: git -C {git_dir} log -p", one_line=True))
    if samples is not None:
        info(neutralise_controls(f"Added {samples} sample sessions. Try: {cmd} dream --offline",
                                 one_line=True))
