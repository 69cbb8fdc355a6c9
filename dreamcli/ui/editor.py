"""Opening the user's editor on a text ($VISUAL, then $EDITOR, then vi), as git does."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from dreamcli.errors import UsageError


def edit_text(text: str, *, suffix: str = ".md") -> str | None:
    """The text after the user edited and saved it; None when it is unchanged."""
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    fd, name = tempfile.mkstemp(prefix="dreamcli-edit-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            code = subprocess.call([*shlex.split(command), str(path)])
        except OSError as e:
            raise UsageError(f"cannot start the editor {command!r}: {e.strerror}; set $EDITOR") from None
        if code != 0:
            raise UsageError(f"the editor {command!r} exited with status {code}; nothing changed")
        edited = path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)
    return None if edited == text else edited
