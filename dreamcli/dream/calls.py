"""A tool call as the signal scanner keeps it (display form, targets and step computed only when
needed), and an error still waiting for the call that fixes it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dreamcli.dream.steps import FAMILIES, Step, command_of
from dreamcli.dream.text import Redact, call_display, input_key, targets, tool_label

WRITES = frozenset({"write", "edit", "Write", "Edit", "MultiEdit", "NotebookEdit", "str_replace_based_edit_tool",
                    "apply_patch", "create_file", "str_replace_editor"})
_MUTATES = re.compile(r"\bsed -i|[^>2&]>>?\s*[\w./~]|\b(git (apply|checkout|restore|stash|reset)|patch|rm|mv|cp|"
                      r"install|uninstall|add|tee)\b")


class Call:
    """A tool call; its display form and targets are computed only when needed. The display form is what
    the dream keeps of a call (evidence, examples, the fix, a loop's key): redacted with `redact` (the
    scan's redactor, `Aggregates.redact`) before it is cut or masked."""

    __slots__ = ("_display", "_redact", "_step", "_targets", "index", "input", "key", "label", "name", "seq")

    def __init__(self, name: str, tool_input: Any, seq: int, index: int, redact: Redact | None = None) -> None:
        self.name = name
        self._redact = redact
        self.input = tool_input
        self.label = tool_label(name, tool_input)
        self.seq = seq
        self.index = index
        self.key = input_key(name, tool_input)
        self._display: str | None = None
        self._targets: frozenset[str] | None = None
        self._step: Step | bool | None = False

    @property
    def step(self) -> Step | None:
        """The step a shell call serves (None for other tools)."""
        if self._step is False:
            cmd = command_of(self.name, self.input)
            self._step = _step(cmd) if cmd else None
        return self._step  # type: ignore[return-value]

    def changes_files(self) -> bool:
        """Does the call write files or change the environment? (A failed call that passes again after
        such a change was fixed by it: no flake.)"""
        if self.name in WRITES:
            return True
        return self.label.startswith("bash:") and isinstance(self.input, dict) and _MUTATES.search(
            str(self.input.get("command") or "")[:600]) is not None

    @property
    def display(self) -> str:
        if self._display is None:
            self._display = call_display(self.name, self.input, self._redact)
        return self._display

    @property
    def targets(self) -> frozenset[str]:
        if self._targets is None:
            self._targets = targets(self.name, self.input)
        return self._targets


@lru_cache(maxsize=4096)
def _step(command: str) -> Step:
    """Steps are immutable and commands recur across sessions: one Step per distinct command."""
    return Step(command)


@dataclass(slots=True)
class Chain:
    """A fix that made a file, waiting for the call that reads it (`dreamcli.dream.chains`)."""

    path: tuple[str, ...]  # recovery keys: the fix, then each step so far (`Recovery.then`)
    made: frozenset[str]  # what the last step made: its paths and base names
    names: frozenset[str]  # the files a next step's example shows generic (FILE.docx): the error's, and outputs
    index: int  # the last step's call index


@dataclass
class OpenError:
    sig: str
    targets: frozenset[str]
    label: str
    key: str
    index: int
    call: Call  # the failed call (its step is computed only if a pairing needs it)
    said: str = ""  # the agent's words since the error
    test: str | None = None
    changed: bool = False  # a file was written or a package installed since (a rerun passing is then no flake)
    chain: Chain | None = None  # fixed by a call that made a file: waiting for the call that reads it


def may_serve(err: OpenError, call: Call) -> bool:
    """Cheap test before reading the step of each call: two shell calls of one program family, or
    the agent said something in between (which may name the fix)."""
    if not (err.call.label.startswith("bash:") and call.label.startswith("bash:")):
        return False
    if err.said:
        return True
    a, b = err.call.label[5:], call.label[5:]
    return a == b or FAMILIES.get(a, a) == FAMILIES.get(b, b)
