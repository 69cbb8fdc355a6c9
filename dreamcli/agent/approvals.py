"""Approval gates for tool calls that change things: bash commands and file writes.

A call runs without asking when `--yes` was given (recorded as approval "yes"), or when it matches an
allow pattern (fnmatch globs from `--allow` and config `approvals.allow_commands` /
`approvals.allow_writes`; "allowed"). Otherwise the `ask` callback (provided by the UI layer, only on
a TTY) decides ("asked" when approved), and without one the call is refused ("refused"): the refusal
goes back to the model as a tool error with error_kind "refused".

A command matches the allow patterns only if every part of it does: it is split on `;`, `&&`, `||`,
`|`, `&` and newlines, and a command with command substitution or redirection (`` ` ``, `$(`, `>`,
`<`) matches only the catch-all pattern `*`. So `ls *` allows `ls -la` but not `ls; rm -rf ~`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

# (kind "command"|"write", detail) -> approved; "always" also allows `always_pattern` for the rest of the session
Ask = Callable[[str, str], "bool | str"]
ALWAYS = "always"

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
    ) -> None:
        extra = list(allow)
        self.command_patterns = [*allow_commands, *extra]
        self.write_patterns = [*allow_writes, *extra]
        self.yes = yes
        self.ask = ask
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
            if answer == ALWAYS:
                pattern = always_pattern(kind, detail)
                (self.command_patterns if kind == "command" else self.write_patterns).append(pattern)
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
