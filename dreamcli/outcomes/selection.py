"""Which sessions to grade (ids/prefixes, --last N, --since, --task) and against which spec (--outcome,
or the spec the session's task named: session.start `task.outcome`). The filters leave out sub-agents,
sessions that look still running (`dreamcli.sessions.running`: the rule a dream defers them by) and, unless
`include_pilot` (--include-pilot), `dreamcli pilot` trials: their pilot grades them. A session named by id is
graded whatever it is."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dreamcli.errors import UsageError
from dreamcli.outcomes.spec import OutcomeSpec, load_spec
from dreamcli.workspace.home import Workspace

Job = tuple[Path, OutcomeSpec]


@dataclass
class Selection:
    ids: list[str] = field(default_factory=list)
    last: int | None = None
    since: str | None = None
    task: str | None = None
    include_pilot: bool = False  # --last/--since/--task also take pilot trials (their pilot grades them)

    @property
    def empty(self) -> bool:
        return not self.ids and self.last is None and self.since is None and self.task is None


class SpecCache:
    """Specs loaded once per path (an invalid spec raises InputError, exit 2)."""

    def __init__(self) -> None:
        self._specs: dict[str, OutcomeSpec] = {}
        self._lock = threading.Lock()

    def get(self, path: str | Path) -> OutcomeSpec:
        key = str(Path(path).expanduser().resolve())
        with self._lock:
            if key not in self._specs:
                self._specs[key] = load_spec(Path(key))
            return self._specs[key]


def _start_of(session_path: Path) -> dict[str, Any] | None:
    from dreamcli.sessions.reader import read_first_event

    try:
        first = read_first_event(session_path)
    except OSError:
        return None
    return first if first and first.get("type") == "session.start" else None


def is_pilot_trial(session_path: Path) -> bool:
    """A `dreamcli pilot` trial (session.start `pilot`): graded by its pilot, not by a filter's default."""
    first = _start_of(session_path)
    return first is not None and bool(first.get("pilot"))


def task_outcome_path(session_path: Path) -> str | None:
    first = _start_of(session_path)
    if first is None:
        return None
    raw_task = first.get("task")
    task: dict[str, Any] = raw_task if isinstance(raw_task, dict) else {}
    outcome = task.get("outcome")
    if not outcome and isinstance(first.get("outcome"), str) and first["outcome"].endswith((".yaml", ".yml", ".md")):
        outcome = first["outcome"]
    return outcome if isinstance(outcome, str) and outcome else None


class JobSource:
    """Iterates (session path, spec) pairs lazily, so any number of sessions streams through."""

    def __init__(self, ws: Workspace, selection: Selection, spec: OutcomeSpec | None = None,
                 specs: SpecCache | None = None, now: datetime | None = None) -> None:
        if selection.empty:
            raise UsageError("say which sessions to grade: SESSION_ID..., --last N, --since or --task")
        self.ws = ws
        self.selection = selection
        self.spec = spec
        self.specs = specs or SpecCache()
        self.skipped_no_spec: list[str] = []
        self.skipped_pilot: list[str] = []  # pilot trials a filter left out (never those named by id)
        self.skipped_running: list[str] = []  # sessions still running a filter left out (never those named by id)
        self.now = now or datetime.now(UTC)  # what "still running" is judged against
        # fail fast on a wrong id (exit 2); a session named twice (or by id and by prefix) is graded once
        self.explicit = list(dict.fromkeys(self._find(i) for i in selection.ids))

    def _find(self, ident: str) -> Path:
        from dreamcli.sessions.paths import find_session

        return find_session(self.ws, ident)

    def running_named(self) -> list[str]:
        """The sessions named by id that look still running (graded all the same: someone asked for them)."""
        from dreamcli.sessions.running import still_running

        return [p.stem for p in self.explicit if still_running(p, self.now)]

    def paths(self) -> Iterator[Path]:
        from dreamcli.sessions.running import still_running
        from dreamcli.sessions.summary import SessionFilter, list_sessions
        from dreamcli.timeutil import parse_since

        sel = self.selection
        yield from self.explicit
        if sel.last is None and sel.since is None and sel.task is None:
            return
        flt = SessionFilter(since=parse_since(sel.since) if sel.since else None, task=sel.task,
                            include_children=False)
        seen = {p.stem for p in self.explicit}
        n = 0
        for s in list_sessions(self.ws, flt):  # --last N: the N newest that are neither pilot trials nor running
            path = Path(s.path)
            if not sel.include_pilot and is_pilot_trial(path):
                if s.session_id not in seen:  # one named by id is graded all the same
                    self.skipped_pilot.append(s.session_id)
                continue
            if s.ended is None and still_running(path, self.now):  # `ended`: the summary read its session.end
                if s.session_id not in seen:
                    self.skipped_running.append(s.session_id)
                continue
            if s.session_id not in seen:
                yield path
            n += 1
            if sel.last is not None and n >= sel.last:
                return

    def __iter__(self) -> Iterator[Job]:
        explicit = {p.stem for p in self.explicit}
        for path in self.paths():
            if self.spec is not None:
                yield path, self.spec
                continue
            named = task_outcome_path(path)
            if named is None:
                if path.stem in explicit:
                    raise UsageError(f"session {path.stem} names no outcome spec; pass --outcome SPEC")
                self.skipped_no_spec.append(path.stem)
                continue
            yield path, self.specs.get(named)
