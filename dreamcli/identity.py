"""Who is reviewing: `--reviewer` (or `--actor`), else $DREAMCLI_ACTOR, else config
`playbooks.reviewer`, else the OS login name; with the OS user and git's user.name/email beside it,
for the review page and the audit trail."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
from functools import lru_cache
from typing import Any


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@lru_cache(maxsize=4)
def git_identity(cwd: str | None = None) -> tuple[str | None, str | None]:
    """git's user.name and user.email (None where unset, or without git)."""
    git = shutil.which("git")
    if git is None:
        return None, None
    out: list[str | None] = []
    for key in ("user.name", "user.email"):
        try:
            proc = subprocess.run([git, "config", "--get", key], cwd=cwd, capture_output=True, text=True,
                                  timeout=5, check=False)
            value = proc.stdout.strip() if proc.returncode == 0 else ""
        except (OSError, subprocess.SubprocessError):
            value = ""
        out.append(value or None)
    return out[0], out[1]


def resolve_actor(explicit: str | None = None, configured: str | None = None) -> str:
    """The one name the audit records as `actor`."""
    for value in (explicit, os.environ.get("DREAMCLI_ACTOR"), configured):
        if value and value.strip():
            return value.strip()
    return os_user()


def reviewer(explicit: str | None = None, configured: str | None = None) -> dict[str, Any]:
    """{actor, source, os_user, git_name, git_email}."""
    if explicit and explicit.strip():
        source = "option"
    elif os.environ.get("DREAMCLI_ACTOR", "").strip():
        source = "env"
    elif configured and configured.strip():
        source = "config"
    else:
        source = "os"
    name, email = git_identity()
    return {"actor": resolve_actor(explicit, configured), "source": source, "os_user": os_user(),
            "git_name": name, "git_email": email}
