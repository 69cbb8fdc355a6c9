"""A dream counts a lead and its imported sub-agent as one episode whatever the order of the import runs and
of the dreams: the child names its lead by transcript only (`import.parent_source_id`: a Codex child, or a
Claude Code agent file imported while its lead's transcript was not on disk) or by session id, and joins its
lead's episode as `sessions list` puts it under that lead (docs/multi-agent.md).

Before: a child that named its lead by transcript only was an episode of its own (2 episodes for the pair).
Then the dream linked them by reading the first line of every session file before its scan (a second pass
over the workspace: a third of the offline dream's CPU on 5,000 sessions), and a child dreamed before its lead
gave the joined episode its own task. Now the scan gathers the links from the session.start lines it decodes
anyway, and the dream's state keeps what a later dream needs: the imported sessions' transcripts, and the
sub-agents not yet linked (docs/dream.md)."""

from __future__ import annotations

import builtins
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dreamcli.config import Config
from dreamcli.dream import aggregates
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.executors import use_executor
from dreamcli.dream.watermark import load_aggregates, state_dir
from dreamcli.ids import ulid_at
from dreamcli.sessions.arrivals import record_arrivals
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.writer import SessionWriter
from dreamcli.workspace.home import Workspace
from tests.support.imported_apart import (
    CASES,
    import_apart,
    import_child,
    import_lead,
    import_lead_last,
    lead_and_child,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class InProcess:
    """Two workers' chunks of about one file each, run here one after the other (the lead and its child in
    different chunks)."""

    workers = 2

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        for args in tasks:
            yield fn(*args)


def dream(ws: Workspace, *, workers: int = 1, dry_run: bool = False) -> dict[str, Any]:
    """The dream's `inputs` (sessions read, episodes) of an offline dream on one worker or two."""
    opts = DreamOptions(offline=True, dry_run=dry_run, now=NOW)
    with use_executor(InProcess() if workers == 2 else None):
        return dict(run_dream(ws, Config(), opts).dream["inputs"])


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("case", CASES)
def test_one_dream_reads_the_pair_as_one_episode(ws: Workspace, tmp_path: Path, case: str, workers: int) -> None:
    import_apart(ws, tmp_path / "src", case)
    inputs = dream(ws, workers=workers, dry_run=True)
    assert (inputs["sessions"], inputs["episodes"]) == (2, 1)


@pytest.mark.parametrize("case", CASES)
def test_a_dream_between_the_two_imports_still_joins_them(ws: Workspace, tmp_path: Path, case: str) -> None:
    """The first import run is dreamed before the second. Lead first: the child, read alone, joins the episode
    the lead's dream kept. Child first: what the first dream kept of the child moves to its lead's episode
    when the lead is read."""
    src = tmp_path / "src"
    first, second = (import_lead, import_child) if case.endswith("lead-first") else (import_child, import_lead_last)
    first(ws, src, case)
    assert dream(ws)["sessions"] == 1
    second(ws, src, case)
    assert dream(ws)["sessions"] == 1
    lead, _kid = lead_and_child(ws)
    agg = load_aggregates(ws, "default")
    assert set(agg.episodes) == {lead}
    assert {ep for p in agg.patterns.values() for ep in p.episodes} == {lead}


def at(minute: int) -> str:
    """A session id started on 2026-04-03 at 08:`minute`."""
    return ulid_at(int(datetime(2026, 4, 3, 8, minute, tzinfo=UTC).timestamp() * 1000), bytes([3, minute]))


def imported(ws: Workspace, sid: str, task: str, source_id: str, parent_source_id: str | None = None,
             source: str = "codex") -> str:
    """An imported session of `source` holding transcript `source_id`; a sub-agent naming its lead's transcript
    `parent_source_id` only (no `parent_session_id`). Recorded as an arrival, as an import does."""
    info = {"path": f"/t/{source_id}.jsonl", "source_id": source_id}
    if parent_source_id is not None:
        info["parent_source_id"] = parent_source_id
    w = SessionWriter(ws, session_id=sid)
    w.start(task={"name": task, "prompt": "p"}, model="m", workdir=None, source=source, **{"import": info})
    w.end("completed", totals={"turns": 1})
    record_arrivals(ws, [sid], source="import")
    return sid


@pytest.mark.parametrize("workers", [1, 2])
def test_the_dream_opens_each_session_file_once(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 workers: int) -> None:
    """The links come from the scan's own reading. Before, every session file was opened twice: its first line
    read before the scan (dreamcli.sessions.lineage), then the whole file by the scan."""
    import_apart(ws, tmp_path / "src", "codex-lead-first")
    imported(ws, at(50), "other", "T")
    opened: Counter[str] = Counter()
    real_open = builtins.open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | Path) and str(file).endswith(".jsonl") and str(ws.sessions_dir) in str(file):
            opened[Path(file).stem] += 1
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    inputs = dream(ws, workers=workers)
    monkeypatch.undo()
    assert (inputs["sessions"], inputs["episodes"]) == (3, 2)
    assert opened == {p.stem: 1 for p in iter_session_files(ws)}


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("order", ["one-dream", "lead-dreamed-first", "child-dreamed-first"])
def test_the_joined_episode_is_the_leads(ws: Workspace, workers: int, order: str) -> None:
    """The child's cost record joins the lead's, which keeps the lead's task and stays a root. Before, a child
    dreamed before its lead was a root of its own when the later dream merged it: the joined episode took the
    child's task ("kid-task")."""
    lead, kid = at(0), at(1)
    write = {lead: lambda: imported(ws, lead, "lead-task", "L"), kid: lambda: imported(ws, kid, "kid-task", "L/k", "L")}
    first, second = (kid, lead) if order == "child-dreamed-first" else (lead, kid)
    write[first]()
    if order != "one-dream":
        assert dream(ws, workers=workers)["episodes"] == 1
    write[second]()
    inputs = dream(ws, workers=workers)
    assert (inputs["sessions"], inputs["episodes"]) == (2 if order == "one-dream" else 1, 1)
    agg = load_aggregates(ws, "default")
    assert set(agg.episodes) == {lead} and agg.parents == {kid: lead}
    task, _cost, _calls, _truncated, _example, root = agg.episodes[lead]
    assert (task, root) == ("lead-task", True)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_newest_session_of_a_transcript_is_the_lead(ws: Workspace, workers: int) -> None:
    """As `sessions list` links it (dreamcli.sessions.lineage): two sessions hold transcript L, the child joins
    the newer one; a session of another source naming L joins neither."""
    old, new = imported(ws, at(0), "t", "L"), imported(ws, at(2), "t", "L")
    kid = imported(ws, at(1), "t", "L/k", "L")
    stranger = imported(ws, at(3), "t", "L/m", "L", source="claude-code")
    inputs = dream(ws, workers=workers)
    assert inputs["episodes"] == 3
    agg = load_aggregates(ws, "default")
    assert agg.parents == {kid: new} and set(agg.episodes) == {old, new, stranger}
    assert agg.unlinked == {stranger: ("transcript", "claude-code", "L")}


def test_the_state_keeps_only_what_a_later_dream_needs(ws: Workspace) -> None:
    """The transcripts of the imported sessions read (a later child may name one), and the sub-agents whose lead
    no dream has read yet; a linked child is in `parents`, no longer waiting."""
    kid = imported(ws, at(1), "t", "L/k", "L")
    dream(ws)
    stored = json.loads((state_dir(ws, "default") / "aggregates.json").read_text())
    assert (stored["transcripts"], stored["unlinked"]) == ({"codex": {"L/k": kid}}, {kid: ["codex", "L"]})
    lead = imported(ws, at(0), "t", "L")
    dream(ws)
    stored = json.loads((state_dir(ws, "default") / "aggregates.json").read_text())
    assert stored["transcripts"] == {"codex": {"L/k": kid, "L": lead}} and "unlinked" not in stored
    assert stored["parents"] == {kid: lead}
    # the same state as a release before them wrote it: it loads (not set aside), with none
    older = {k: v for k, v in stored.items() if k not in ("transcripts", "unlinked")}
    (state_dir(ws, "default") / "aggregates.json").write_text(json.dumps(older))
    problems: list[str] = []
    agg = load_aggregates(ws, "default", problems)
    assert (problems, agg.transcripts, agg.unlinked, agg.parents) == ([], {}, {}, {kid: lead})


def test_they_round_trip_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored and loaded back as they were; without them (an older state) or with values no dream wrote there,
    none; `prune` keeps the most recent MAX_PARENTS of each, as it keeps `parents`."""
    agg = Aggregates()
    agg.transcripts = {("transcript", "codex", f"T{i}"): at(i) for i in range(4)}
    agg.unlinked = {at(10 + i): ("transcript", "codex", "X") for i in range(4)}
    data = agg.to_json()
    back = Aggregates.from_json(json.loads(json.dumps(data)))
    assert (back.transcripts, back.unlinked) == (agg.transcripts, agg.unlinked)
    older = {k: v for k, v in data.items() if k not in ("transcripts", "unlinked")}
    assert Aggregates.from_json(older).transcripts == {} and Aggregates.from_json(older).unlinked == {}
    odd = {**older, "transcripts": {"codex": ["L"], "x": {"T": 3}}, "unlinked": {"A": "codex", "B": ["c", 1]}}
    assert (Aggregates.from_json(odd).transcripts, Aggregates.from_json(odd).unlinked) == ({}, {})
    monkeypatch.setattr(aggregates, "MAX_PARENTS", 2)
    agg.prune()
    assert sorted(agg.transcripts.values()) == [at(2), at(3)] and sorted(agg.unlinked) == [at(12), at(13)]
