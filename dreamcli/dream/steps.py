"""What step of the work a call serves, so an error is paired with the success that served the same
step even when it is another command (issue 15): `npm test` failing with ERR_REQUIRE_ESM is fixed by
`NODE_OPTIONS=--experimental-vm-modules npx jest`, not by the next call that happens to succeed.

A failed call and a later successful call serve the same step when (in this order of evidence):
- they act on the same working files (`targets`);
- the success runs the failed command again with more: flags, arguments, environment or sudo
  (`git push` -> `git push --set-upstream origin release`, `psql …` -> `PGPASSFILE=… psql …`), or
  after other commands (`make build` -> `sudo apt-get install -y libssl-dev && make build`);
- they share an intent (running tests, installing, building, linting) and a program family
  (npm / npx / node / jest; pip / python -m pip / venv / uv), or the agent's own words between the
  two name the program or a flag of the success;
- the agent's words name a distinctive part of the success (a flag, an environment variable) and
  the success has no other intent.
The same call (equal input) passing after it failed is not a fix: it is a flake. Pure functions.
"""

from __future__ import annotations

import re
from typing import Any

FAMILIES: dict[str, str] = {}
for _family, _programs in {
    "node": ("npm", "npx", "node", "jest", "yarn", "pnpm", "vitest", "mocha", "bun", "tsc", "ts-node", "tsx"),
    "python": ("python", "python3", "pip", "pip3", "pytest", "uv", "poetry", "venv", "virtualenv", "tox",
               "pipx", "conda", "hatch", "pdm"),
    "docs": ("pandoc", "unzip", "pdftotext", "libreoffice", "soffice", "textutil", "docx2txt"),
    "grep": ("grep", "zgrep", "rg", "ag", "zcat", "gzip", "gunzip"),
    "rust": ("cargo", "rustc", "rustup"),
    "go": ("go", "gofmt"),
    "make": ("make", "cmake", "ninja"),
}.items():
    for _p in _programs:
        FAMILIES[_p] = _family

_INTENTS = (
    ("test", re.compile(r"\b(test|tests|jest|pytest|vitest|mocha|spec|tox|unittest|ctest)\b")),
    ("install", re.compile(r"\b(install|venv|virtualenv|requirements|ci|sync|add)\b")),
    ("build", re.compile(r"\b(build|compile|tsc|webpack|bundle|rollup|vite build)\b")),
    ("lint", re.compile(r"\b(lint|ruff|eslint|flake8|mypy|pylint|clippy|prettier)\b")),
)
_SEGMENT = re.compile(r"&&|\|\||;|\|")
_SHELLISH = {"cd", "source", ".", "export", "set", "sudo", "env", "time", "nice", "command", "exec", "then", "do", "if"}
_FLAG = re.compile(r"(?<![\w-])(--[a-z][\w-]{3,}|[A-Z][A-Z0-9_]{2,}=)")
POLLING_TOOLS = frozenset({"write_stdin", "BashOutput", "TaskOutput", "KillShell", "wait", "sleep", "poll",
                           "check_status", "get_status", "read_output", "TodoWrite", "TodoRead"})
_POLL_COMMAND = re.compile(r"^\s*(sleep|watch|wait)\b|\b(status|--watch|wait|poll|tail -f)\b")
_TEST_NAMES = (
    re.compile(r"FAILED ([\w./-]+::[\w\[\].:-]+)"),
    re.compile(r"--- FAIL: (\w+)"),
    re.compile(r"(?m)^\s*(?:●|✕|×)\s+(.{3,120}?)\s*(?:\(\d+\s*ms\))?$"),
    re.compile(r"(?m)^not ok \d+ - (.{3,120})$"),
    re.compile(r"(?m)^(?:FAIL|ERROR):? (test\w+) \("),
)


def programs(command: str) -> list[str]:
    """The programs a shell command runs, in order (`cd app && npm test` -> ["npm"]; env
    assignments, sudo, `source` and `cd` skipped; `python -m pip` -> ["python", "pip"])."""
    return _programs_of(cores(command))


def _programs_of(parts: tuple[tuple[str, ...], ...]) -> list[str]:
    """`programs` of a command already split by `cores`."""
    out: list[str] = []
    for words in parts:
        name = words[0].strip("()'\"")
        if name:
            out.append(name)
            if name.startswith("python") and len(words) > 2 and words[1] == "-m":
                out.append(words[2])
    return out


def command_of(name: str, tool_input: Any) -> str | None:
    if name in ("bash", "shell", "Bash", "exec_command") and isinstance(tool_input, dict):
        cmd = tool_input.get("command") or tool_input.get("cmd")
        if isinstance(cmd, list):
            cmd = " ".join(str(c) if isinstance(c, str | int | float) else "…" for c in cmd)
        return cmd if isinstance(cmd, str) else None
    return None


def cores(command: str) -> tuple[tuple[str, ...], ...]:
    """Each part of a shell command as the words it runs: environment assignments, sudo and the like
    dropped, `cd`/`source`/`export` parts left out (`cd a && X=1 sudo make build` -> (("make", "build"),))."""
    out = []
    for segment in _SEGMENT.split(command[:600]):
        tokens = segment.split()
        i = 0
        while i < len(tokens) and (tokens[i] in _SHELLISH or (
                "=" in tokens[i].split("/")[0] and not tokens[i].startswith(("-", "'", '"')))):
            if tokens[i] in ("cd", "source", ".", "export", "set"):
                i = len(tokens)
            i += 1
        if i < len(tokens):
            out.append((tokens[i].rsplit("/", 1)[-1], *tokens[i + 1:]))
    return tuple(out)


def _reruns(failed: tuple[str, ...], success: tuple[str, ...]) -> bool:
    """Is `success` the failed command's program run with all its words, and perhaps more?"""
    return failed[0] == success[0] and set(failed) <= set(success)


class Step:
    """The step a shell call serves: its intents, program families, command parts and distinctive words."""

    __slots__ = ("cores", "families", "intent", "intents", "marks", "programs")

    def __init__(self, command: str) -> None:
        self.cores = cores(command)  # split once: the programs are each part's first word
        self.programs = _programs_of(self.cores)
        self.families = frozenset(FAMILIES.get(p, p) for p in self.programs)
        low = command.lower()
        self.intents = frozenset(name for name, rx in _INTENTS if rx.search(low))
        self.intent = next((name for name, rx in _INTENTS if name in self.intents), None)
        self.marks = frozenset(m.rstrip("=").lower() for m in _FLAG.findall(command)) | frozenset(
            p.lower() for p in self.programs if len(p) >= 3)


def serves_same_step(failed: Step | None, success: Step | None, said: str) -> bool:
    """Does `success` serve the step `failed` was for (targets aside)? `said`: the agent's words
    between the two calls, lower-cased."""
    if failed is None or success is None:
        return False
    if failed.cores and all(any(_reruns(f, s) for s in success.cores) for f in failed.cores):
        return True  # the same command again, with more flags, arguments or environment, or after a fix
    named = any(m in said for m in success.marks) if said else False
    if failed.intent is not None and failed.intent in success.intents:
        return bool(failed.families & success.families) or named
    return named and failed.intent is not None and success.intents <= {failed.intent}


def reason_in(said: str, step: Step) -> str:
    """The agent's sentence that names the fix (its stated reason), if any."""
    sentences = [x.strip() for x in re.split(r"(?<=[.!?])\s+|\n+", said.strip()) if x.strip()]
    for i, sentence in enumerate(sentences):
        if any(m in sentence.lower() for m in step.marks):
            return " ".join(sentences[max(0, i - 1): i + 1])[:200]  # with the sentence that led to it
    return ""


def is_polling(name: str, command: str | None) -> bool:
    """Calls meant to repeat: reading a running process's output, sleeping, status checks."""
    if name in POLLING_TOOLS:
        return True
    return command is not None and bool(_POLL_COMMAND.search(command[:300]))


def test_name(text: str) -> str | None:
    """The failing test a runner's output names (pytest, jest, go test, TAP, unittest)."""
    head = text[:4000]
    for rx in _TEST_NAMES:
        m = rx.search(head)
        if m:
            return m.group(1).strip()[:120]
    return None
