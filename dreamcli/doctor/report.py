"""The report of `dreamcli doctor`: one typed `Check` a line, the verdict, the `--json` document, and the guard that
turns an exception inside a check into its `fail` line (the exception kept on `error` for `--debug`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from dreamcli.errors import DreamError

Status = Literal["ok", "warn", "fail"]
Progress = Callable[[int, int], None]  # (sessions done, sessions in all): `doctor --fix` sending, as it goes
DEBUG_FIX = "see the traceback: dreamcli --debug doctor"


@dataclass(frozen=True)
class Check:
    """One line of the report. `fix` says what to do, in a few words, when the status is not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""
    error: BaseException | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


def passed(checks: Iterable[Check]) -> bool:
    """True when no check failed (warnings do not fail)."""
    return all(c.status != "fail" for c in checks)


def report(checks: list[Check]) -> dict[str, Any]:
    """The `--json` document."""
    return {"ok": passed(checks), "checks": [c.to_dict() for c in checks]}


class ProbeFailed(Exception):
    """A tool ran but did not do what it should have (its message is the one line shown)."""


def one_line(e: BaseException, limit: int = 300) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    text = text if isinstance(e, ProbeFailed | DreamError) else f"{type(e).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def guard(name: str, fn: Callable[[], list[Check]], fix: str = DEBUG_FIX, probe_fix: str = "") -> list[Check]:
    """Run one check; an exception becomes its `fail` line (a ProbeFailed one gets `probe_fix`)."""
    try:
        return fn()
    except Exception as e:
        return [Check(name, "fail", one_line(e), probe_fix if isinstance(e, ProbeFailed) and probe_fix else fix,
                      error=e)]


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
