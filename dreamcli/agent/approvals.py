"""Approval gates for tool calls that change things: bash commands and file writes.

A call runs without asking when `--yes` was given (recorded as approval "yes"), or when it matches an
allow pattern (fnmatch globs from `--allow` and config `approvals.allow_commands` /
`approvals.allow_writes`; "allowed"). Otherwise the `ask` callback (provided by the UI layer, only on
a TTY) decides ("asked" when approved), and without one the call is refused ("refused"): the refusal
goes back to the model as a tool error with error_kind "refused".

A command matches the allow patterns only if every part of it does: it is split on `;`, `&&`, `||`,
`|`, `&` and newlines, and a command with command substitution or redirection (`` ` ``, `$(`, `>`,
`<`) matches only the catch-all pattern `*`. So `ls *` allows `ls -la` but not `ls; rm -rf ~`.

At the prompt, "a" (always, `ALWAYS`) allows the same kind of call for the rest of the session and
"w" (`ALWAYS_WORKSPACE`) for every later run in the workspace too: the pattern is kept in
`state/approvals.json` (mode 0600; `RememberedAllows`), which every run of the workspace reads.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli.errors import InputError
from dreamcli.workspace.fsutil import read_private

if TYPE_CHECKING:
    from dreamcli.workspace.home import Workspace

# (kind "command"|"write", detail) -> approved; "always" also allows `always_pattern` for the rest of the
# session, "workspace" for every later run in the workspace as well
Ask = Callable[[str, str], "bool | str"]
ALWAYS = "always"
ALWAYS_WORKSPACE = "workspace"
REMEMBERED_FILE = "approvals.json"  # in the workspace's state/

_SPLIT = re.compile(r"\|\||&&|[;|&\n]")
_UNSAFE = ("`", "$(", ">", "<")


@dataclass
class Decision:
    approved: bool
    approval: str  # yes, allowed, asked, refused
    reason: str = ""


class Approvals:
    """The approval policy of one session. Thread-safe: asks are serialised."""

    def __init__(
        self,
        *,
        allow: Iterable[str] = (),
        allow_commands: Iterable[str] = (),
        allow_writes: Iterable[str] = ("**",),
        yes: bool = False,
        ask: Ask | None = None,
        remembered: RememberedAllows | None = None,
    ) -> None:
        extra = list(allow)
        kept = remembered or RememberedAllows(None)
        self.command_patterns = [*allow_commands, *extra, *kept.commands]
        self.write_patterns = [*allow_writes, *extra, *kept.writes]
        self.yes = yes
        self.ask = ask
        self.remembered = remembered
        self._lock = threading.Lock()

    # --- matching -------------------------------------------------------------------------------
    def command_allowed(self, command: str) -> bool:
        command = command.strip()
        if not command:
            return False
        if "*" in self.command_patterns:
            return True
        if any(tok in command for tok in _UNSAFE):
            return False
        parts = [p.strip() for p in _SPLIT.split(command) if p.strip()]
        return bool(parts) and all(_match_any(p, self.command_patterns) for p in parts)

    def write_allowed(self, relpath: str) -> bool:
        return _match_any(relpath, self.write_patterns)

    # --- decisions ------------------------------------------------------------------------------
    def check_command(self, command: str) -> Decision:
        return self._decide("command", command, self.command_allowed(command))

    def check_write(self, relpath: str) -> Decision:
        return self._decide("write", relpath, self.write_allowed(relpath))

    def _decide(self, kind: str, detail: str, allowed: bool) -> Decision:
        if self.yes:
            return Decision(True, "yes")
        if allowed:
            return Decision(True, "allowed")
        if self.ask is None:
            what = "command" if kind == "command" else "write to"
            return Decision(
                False, "refused",
                f"refused: the {what} {detail!r} needs approval and there is no terminal to ask on "
                "(allowed by --allow PATTERN, config approvals, or --yes). Try another way or explain "
                "what you need.",
            )
        with self._lock:
            if (self.command_allowed(detail) if kind == "command" else self.write_allowed(detail)):
                return Decision(True, "allowed")  # answered "always" while this call waited
            answer = self.ask(kind, detail)
            if answer in (ALWAYS, ALWAYS_WORKSPACE):
                pattern = always_pattern(kind, detail)
                (self.command_patterns if kind == "command" else self.write_patterns).append(pattern)
                if answer == ALWAYS_WORKSPACE and self.remembered is not None:
                    self.remembered.add(kind, pattern, detail)
        if answer:
            return Decision(True, "asked")
        return Decision(False, "refused", f"refused: the user did not approve this {kind}: {detail!r}")


def always_pattern(kind: str, detail: str) -> str:
    """What an "always" answer allows for the rest of the session: the command's program with any
    arguments (`git *`), or every file in the written file's folder (`docs/*`, `*` at the top)."""
    if kind == "command":
        words = detail.strip().split()
        return f"{words[0]} *" if words else detail
    folder = detail.rsplit("/", 1)[0] if "/" in detail else ""
    return f"{folder}/*" if folder else "*"


def _match_any(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(value, p) for p in patterns)


@dataclass
class RememberedAllows:
    """Patterns answered "always for this workspace" at the approval prompt, kept in the workspace's
    `state/approvals.json` (0600) and allowed without asking in every later run there:

        {"version": 1, "allow_commands": ["git *"], "allow_writes": ["docs/*"],
         "history": [{"ts": "...", "kind": "command", "pattern": "git *", "detail": "git status"}]}

    Delete the file (or a pattern from it) to be asked again."""

    path: Path | None
    commands: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    # (st_dev, st_ino) of the workspace root the answers were given in: a copy of the file in another
    # directory (a cloned repository, an unpacked archive) is not this user's answer and is not honoured
    root_id: list[int] | None = None

    @classmethod
    def load(cls, path: Path, root: Path | None = None) -> RememberedAllows:
        here = _identity(root)
        raw = read_private(path, "remembered approvals")
        if raw is None:
            return cls(path, root_id=here)
        try:
            data = json.loads(raw)
            commands, writes = data.get("allow_commands", []), data.get("allow_writes", [])
            history = data.get("history", [])
            if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in (commands, writes)):
                raise ValueError("allow_commands and allow_writes must be lists of patterns")
        except (ValueError, AttributeError, RecursionError) as e:
            raise InputError(f"not a remembered-approvals file ({e}); delete it to be asked again",
                             file=str(path)) from None
        if here is not None and data.get("workspace") != here:  # answered elsewhere: ask again
            return cls(path, root_id=here)
        return cls(path, list(commands), list(writes), list(history) if isinstance(history, list) else [],
                   root_id=data.get("workspace") if here is None else here)

    def add(self, kind: str, pattern: str, detail: str) -> None:
        """Remember `pattern` for every later run (written at once, atomically, mode 0600), merged with
        what other runs of the workspace remembered meanwhile."""
        import filelock

        from dreamcli.redaction import default_redactor
        from dreamcli.workspace.fsutil import atomic_write_text

        target = self.commands if kind == "command" else self.writes
        if pattern not in target:
            target.append(pattern)
        entry = {"ts": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                 "kind": kind, "pattern": pattern, "detail": default_redactor().redact_text(detail)[:200]}
        self.history.append(entry)
        if self.path is None:
            return
        with filelock.FileLock(str(self.path) + ".lock", mode=0o600):
            try:
                now = RememberedAllows.load(self.path, None)
            except InputError:
                now = RememberedAllows(self.path)
            if now.root_id != self.root_id:  # not this workspace's answers (a clone's file): not merged
                now = RememberedAllows(self.path)
            for mine, theirs in ((self.commands, now.commands), (self.writes, now.writes)):
                mine[:] = [*theirs, *(p for p in mine if p not in theirs)]
            data = {"version": 1, "workspace": self.root_id, "allow_commands": self.commands,
                    "allow_writes": self.writes, "history": [*now.history, entry][-200:]}
            atomic_write_text(self.path, json.dumps(data, indent=1) + "\n", fsync=True)


def _identity(root: Path | None) -> list[int] | None:
    if root is None:
        return None
    try:
        st = os.stat(root)
    except OSError:
        return None
    return [st.st_dev, st.st_ino]


def remembered_allows(ws: Workspace) -> RememberedAllows:
    """The workspace's remembered "always allow" patterns (empty when none were given)."""
    return RememberedAllows.load(ws.state_dir / REMEMBERED_FILE, ws.root)
