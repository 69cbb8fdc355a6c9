"""A session the dream sets aside as still running (no `session.end`, active in the last 30 minutes) teaches it
nothing: no pattern, cost, episode, memory use or count comes from it, on one worker or several, and it is read
again, whole, by the first dream after it ends (acceptance finding: two half-written logs were reported as
`sessions 0, deferred 2` yet proposed an entry with `{'sessions': 2}` built from them, which then stayed
pending so the finished sessions proposed nothing)."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dreamcli.config import Config
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.engine import DreamOptions, DreamResult, run_dream
from dreamcli.dream.executors import use_executor
from dreamcli.dream.scan import Scanned, scan_files
from dreamcli.dream.selection import PlaybookScope
from dreamcli.dream.watermark import load_aggregates, load_watermark
from dreamcli.sessions.reader import ReadStats
from dreamcli.testing.synthetic.session import iso_ms, ulid_at
from dreamcli.workspace.home import Workspace

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline

T0 = 1_790_000_000_000  # 2026-09
NOW = datetime.fromtimestamp(T0 / 1000 + 3600, UTC)  # an hour after the first session started
CUT = '{"v":1,"type":"message","ts":"2026'  # the line being written when the dream looked


class Log:
    """One session log written as docs/session-log.md describes it: a failed `pdftotext` of a .docx, fixed by
    `pandoc`, a memory note, then (with `finish`) its end. `flush(running=True)` leaves it as a session still
    being written: no end, its last line cut off."""

    def __init__(self, ws: Workspace, start_ms: int, *, parent: str | None = None, bound: str = "default") -> None:
        self.t = start_ms
        self.seq = self.n = 0
        self.sid = ulid_at(start_ms, random.Random(start_ms).getrandbits(80))
        day = datetime.fromtimestamp(start_ms / 1000, UTC)
        self.path = ws.sessions_dir / f"{day:%Y/%m/%d}" / f"{self.sid}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lines: list[str] = []
        self.emit("session.start", task={"name": "convert-docs", "prompt": "Summarise it."}, model="claude-sonnet-5-5",
                  playbooks=[{"playbook": bound, "version": 1, "entry_ids": []}] if bound != "default" else [],
                  parent_session_id=parent, workdir="/tmp/w", source="dreamcli")
        self.emit("message", role="user", content=[{"type": "text", "text": "Summarise it."}])
        name = f"r{start_ms % 97}.docx"
        self.call("bash", {"command": f"pdftotext {name} -"}, "Syntax Error: Couldn't find trailer dictionary",
                  error=True)
        self.call("bash", {"command": f"pandoc -t plain {name}"}, "text")
        self.call("memory", {"command": "create", "path": f"/memories/{self.sid}.md",
                             "file_text": "Read docx files with pandoc, never with pdftotext."}, "created")

    def emit(self, type_: str, **fields: Any) -> None:
        self.t += 1000
        self.lines.append(json.dumps({"v": 1, "type": type_, "ts": iso_ms(self.t), "session_id": self.sid,
                                      "seq": self.seq, **fields}))
        self.seq += 1

    def call(self, name: str, tool_input: dict[str, Any], output: str, *, error: bool = False) -> None:
        self.n += 1
        tid = f"toolu_{self.sid[-6:]}_{self.n}"
        self.emit("message", role="assistant", content=[{"type": "tool_use", "id": tid, "name": name,
                                                         "input": tool_input}], cost_usd=0.5)
        self.emit("tool", tool_use_id=tid, name=name, duration_ms=5.0, error_kind="exit_nonzero" if error else None)
        self.emit("message", role="user", content=[{"type": "tool_result", "tool_use_id": tid, "is_error": error,
                                                    "content": output}])

    def flush(self, *, running: bool) -> Log:
        self.path.write_text("\n".join(self.lines) + ("\n" + CUT if running else "\n"))
        return self

    def finish(self) -> Log:
        self.emit("session.end", status="completed", totals={"cost_usd": 2.0})
        return self.flush(running=False)


def running(ws: Workspace, minutes_ago: int, **kw: Any) -> Log:
    """A session whose last whole line was written `minutes_ago` before NOW, still being written."""
    log = Log(ws, int(NOW.timestamp() * 1000) - minutes_ago * 60_000 - 10 * 1000, **kw)
    return log.flush(running=True)


class InProcess:
    """A map run here, one chunk after the other: what a pool of `workers` would return, in order (chunks of
    about one file each: every session read by another worker than the one before it)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        for args in tasks:
            yield fn(*args)


WORKERS = pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers"])


def _dream(ws: Workspace, workers: int, **opts: Any) -> DreamResult:
    with use_executor(InProcess(workers)):
        return run_dream(ws, Config(), DreamOptions(**opts))


def _scan(paths: list[Path], workers: int) -> tuple[Scanned, Aggregates]:
    agg = Aggregates()
    with use_executor(InProcess(workers)):
        read, _stats = scan_files(paths, agg, playbook="default", scope=PlaybookScope("default"), now=NOW)
    return read, agg


def _mentions(agg: Aggregates, sid: str) -> bool:
    """Does the stored state name session `sid` anywhere but in the sub-agent -> lead links (`parents`, taken
    from its whole first line)?"""
    state = agg.to_json()
    del state["parents"]
    return sid in json.dumps(state, default=sorted)


@WORKERS
def test_running_sessions_teach_nothing_until_they_end(ws: Workspace, workers: int) -> None:
    logs = [running(ws, 5), running(ws, 6)]
    first = _dream(ws, workers, now=NOW)
    inputs = first.dream["inputs"]
    assert (inputs["sessions"], inputs["deferred"], inputs["episodes"]) == (0, 2, 0)
    assert first.operations == [] and first.status == "nothing_new"
    stored = load_aggregates(ws, "default")
    assert stored.sessions_seen == 0 and stored.patterns == {} and stored.episodes == {}
    assert stored.memory_touch == {} and stored.proposed == {}
    assert sorted(load_watermark(ws, "default").deferred) == sorted(log.sid for log in logs)

    # still running at the next dream: set aside again, still nothing learnt
    again = _dream(ws, workers, now=NOW + timedelta(minutes=1))
    assert again.operations == [] and again.dream["inputs"]["deferred"] == 2
    assert load_aggregates(ws, "default").patterns == {}

    for log in logs:
        log.finish()
    done = _dream(ws, workers, now=NOW + timedelta(minutes=10))
    inputs = done.dream["inputs"]
    assert (inputs["sessions"], inputs["deferred"], inputs["episodes"]) == (2, 0, 2)
    added = [o for o in done.operations if o.op == "add" and (o.text or "").startswith("When `pdftotext")]
    assert len(added) == 1, [o.text for o in done.operations]
    assert added[0].to_json()["support"] == {"sessions": 2, "successes": 2, "total_sessions": 2}
    stored = load_aggregates(ws, "default")
    assert stored.sessions_seen == 2
    assert {e: rec[1] for e, rec in stored.episodes.items()} == {log.sid: 2.0 for log in logs}  # its total, once
    assert load_watermark(ws, "default").deferred == []


def test_a_running_session_named_by_session_teaches_a_later_dream_nothing(ws: Workspace) -> None:
    logs = [running(ws, 5), running(ws, 6)]
    named = run_dream(ws, Config(), DreamOptions(now=NOW, session_ids=[logs[0].sid]))
    assert named.status == "nothing_new" and named.dream["inputs"]["deferred"] == 1 and named.operations == []
    later = run_dream(ws, Config(), DreamOptions(now=NOW + timedelta(minutes=1)))
    assert later.operations == [] and later.dream["inputs"]["deferred"] == 2
    for log in logs:
        log.finish()
    done = run_dream(ws, Config(), DreamOptions(now=NOW + timedelta(minutes=10)))
    assert [o.op for o in done.operations if (o.text or "").startswith("When `pdftotext")] == ["add"]


@WORKERS
def test_a_deferred_session_adds_nothing_to_the_scan(ws: Workspace, workers: int) -> None:
    """At the scan: a deferred lead and a deferred sub-agent of a finished lead leave no trace in the aggregates;
    a finished sub-agent of a running lead is read, in its lead's episode, even when only its lead puts it in
    the playbook's scope."""
    base = int(NOW.timestamp() * 1000) - 50 * 60_000
    done_lead = Log(ws, base).finish()
    running_child = Log(ws, base + 60_000, parent=done_lead.sid)
    running_child.t = int(NOW.timestamp() * 1000) - 5 * 60_000
    running_child.emit("message", role="assistant", content="Still converting.")
    running_child.flush(running=True)
    running_lead = Log(ws, base + 120_000)
    running_lead.t = int(NOW.timestamp() * 1000) - 3 * 60_000
    running_lead.emit("message", role="assistant", content="Waiting for my helper.")
    running_lead.flush(running=False)  # no end, its last line whole: running all the same
    helper = Log(ws, base + 180_000, parent=running_lead.sid, bound="other").finish()
    paths = [done_lead.path, running_child.path, running_lead.path, helper.path]

    read, agg = _scan(paths, workers)
    assert sorted(read.deferred) == sorted([running_child.sid, running_lead.sid])
    assert read.ids == {done_lead.sid, helper.sid} and read.episodes == {done_lead.sid, running_lead.sid}
    assert read.out_of_scope == 0
    assert agg.sessions_seen == 2
    assert not _mentions(agg, running_child.sid)
    # the running lead's episode holds its finished helper's cost and calls alone, nothing of the lead's own
    assert agg.episodes[running_lead.sid][1:4] == [2.0, 3, 0]
    assert agg.episodes[done_lead.sid][1:4] == [2.0, 3, 0]
    pattern = next(p for k, p in agg.patterns.items() if k.startswith("error|bash:pdftotext"))
    assert set(pattern.sessions) == {done_lead.sid, helper.sid} and pattern.occurrences == 2
    assert sorted(agg.memory_touch) == sorted(f"/memories/{s}.md" for s in (done_lead.sid, helper.sid))


def test_one_worker_and_two_read_running_sessions_alike(ws: Workspace) -> None:
    base = int(NOW.timestamp() * 1000) - 50 * 60_000
    logs = [Log(ws, base + i * 60_000).finish() for i in range(3)]
    logs.append(running(ws, 4, parent=logs[0].sid))
    logs.append(running(ws, 2))
    logs.append(Log(ws, int(NOW.timestamp() * 1000) - 60_000, parent=logs[-1].sid).finish())
    paths = [log.path for log in logs]
    one, one_agg = _scan(paths, 1)
    two, two_agg = _scan(paths, 2)
    assert (one.ids, one.deferred, one.episodes) == (two.ids, two.deferred, two.episodes)
    assert json.dumps(one_agg.to_json(), sort_keys=True, default=sorted) == \
        json.dumps(two_agg.to_json(), sort_keys=True, default=sorted)


@WORKERS
def test_a_log_abandoned_long_ago_is_read_whole(ws: Workspace, workers: int) -> None:
    """No end and a cut-off last line, but quiet for days: read (not deferred), and learnt from as a finished one."""
    old = [Log(ws, T0 - 48 * 3_600_000 + i * 3_600_000).flush(running=True) for i in range(2)]
    read, agg = _scan([log.path for log in old], workers)
    assert read.deferred == [] and read.ids == {log.sid for log in old} and agg.sessions_seen == 2
    pattern = next(p for k, p in agg.patterns.items() if k.startswith("error|bash:pdftotext"))
    assert pattern.support == 2 and any("pandoc" in r.example for r in pattern.recoveries.values())
    assert {e: rec[1] for e, rec in agg.episodes.items()} == {log.sid: 1.5 for log in old}


def test_a_scan_without_a_clock_defers_nothing(ws: Workspace) -> None:
    log = running(ws, 1)
    agg = Aggregates()
    from dreamcli.dream.signals import scan_session

    info = scan_session(log.path, agg, playbook="default", stats=ReadStats())
    assert info is not None and not info.deferred and agg.sessions_seen == 1


def test_a_worker_cut_by_a_handed_back_subagent_still_knows_its_running_lead(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker reading [running lead, a sub-agent of another worker's lead, a helper of the running lead] hands
    the middle one back and goes on in a new segment: the helper, in scope only through its running lead, is
    read all the same, in the lead's episode, as on one worker."""
    from dreamcli.dream import scan as scan_module

    base = int(NOW.timestamp() * 1000) - 50 * 60_000
    other_lead = Log(ws, base).finish()
    lead = Log(ws, base + 60_000)
    lead.t = int(NOW.timestamp() * 1000) - 3 * 60_000
    lead.emit("message", role="assistant", content="Waiting for my helpers.")
    lead.flush(running=True)
    away = Log(ws, base + 120_000, parent=other_lead.sid).finish()
    helper = Log(ws, base + 180_000, parent=lead.sid, bound="other").finish()
    paths = [other_lead.path, lead.path, away.path, helper.path]
    monkeypatch.setattr(scan_module, "_chunks", lambda files, sizes, target: [files[:1], files[1:]])
    two, two_agg = _scan(paths, 2)
    one, one_agg = _scan(paths, 1)
    assert one.ids == {other_lead.sid, away.sid, helper.sid} and one.deferred == [lead.sid]
    assert (two.ids, two.deferred, two.episodes, two.out_of_scope) == (one.ids, one.deferred, one.episodes, 0)
    assert two.info(helper.sid).episode == lead.sid  # type: ignore[union-attr]
    assert json.dumps(one_agg.to_json(), sort_keys=True, default=sorted) == \
        json.dumps(two_agg.to_json(), sort_keys=True, default=sorted)


@pytest.mark.parametrize("kind", ["file", "stream", "lines"])
def test_every_way_of_reading_a_log_defers_the_running_and_reads_the_ended_whole(ws: Workspace, kind: str) -> None:
    """From a session file, a bucket's stream (in memory) or a list of lines: a running session adds nothing; an
    ended one, whose last line is looked at first, is still read from its first line."""
    from dreamcli.dream.signals import scan_stream

    def scan(log: Log) -> tuple[Any, Aggregates]:
        agg = Aggregates()
        if kind == "file":
            with open(log.path, "rb") as f:
                return scan_stream(f, agg, playbook="default", stats=ReadStats(), now=NOW), agg
        data = log.path.read_bytes()
        source = io.BytesIO(data) if kind == "stream" else data.splitlines(keepends=True)
        return scan_stream(source, agg, playbook="default", stats=ReadStats(), now=NOW), agg

    log = running(ws, 5)
    info, agg = scan(log)
    assert info is not None and info.deferred and agg.patterns == {} and agg.episodes == {}
    assert agg.sessions_seen == 0 and agg.running == {log.sid}
    log.finish()
    info, agg = scan(log)
    assert info is not None and not info.deferred and agg.sessions_seen == 1
    assert agg.episodes[log.sid][1:3] == [2.0, 3] and any(k.startswith("error|bash:pdftotext") for k in agg.patterns)


@WORKERS
def test_a_helper_ending_after_its_lead_was_deferred_joins_the_lead_in_the_next_dream(
        ws: Workspace, workers: int) -> None:
    """Review finding: a dream defers a running lead; its helper, bound to another playbook (in scope only through
    its lead), ends after that dream. The next dream reads the helper before the lead (deferred sessions come
    last in its list), and counted it out of scope: the watermark moved past it and it was never read again."""
    lead = Log(ws, int(NOW.timestamp() * 1000) - 50 * 60_000)
    lead.t = int(NOW.timestamp() * 1000) - 3 * 60_000
    lead.emit("message", role="assistant", content="Waiting for my helper.")
    lead.flush(running=False)
    first = _dream(ws, workers, now=NOW)
    assert first.dream["inputs"]["deferred"] == 1 and load_watermark(ws, "default").deferred == [lead.sid]

    helper = Log(ws, int(NOW.timestamp() * 1000) + 60_000, parent=lead.sid, bound="other").finish()
    second = _dream(ws, workers, now=NOW + timedelta(minutes=5))
    inputs = second.dream["inputs"]
    assert (inputs["sessions"], inputs["deferred"], inputs["out_of_scope"]) == (1, 1, 0)
    stored = load_aggregates(ws, "default")
    assert stored.parents == {helper.sid: lead.sid}
    assert stored.episodes[lead.sid][1:4] == [2.0, 3, 0]  # the helper's alone: the lead is still running
    pattern = next(p for k, p in stored.patterns.items() if k.startswith("error|bash:pdftotext"))
    assert pattern.sessions == [helper.sid] and pattern.episodes == {lead.sid}

    lead.emit("session.end", status="completed", totals={"cost_usd": 2.0})
    lead.flush(running=False)
    third = _dream(ws, workers, now=NOW + timedelta(minutes=40))
    assert (third.dream["inputs"]["sessions"], third.dream["inputs"]["deferred"]) == (1, 0)
    stored = load_aggregates(ws, "default")
    assert stored.episodes[lead.sid][1:4] == [4.0, 6, 0]
    pattern = next(p for k, p in stored.patterns.items() if k.startswith("error|bash:pdftotext"))
    assert sorted(pattern.sessions) == sorted([helper.sid, lead.sid]) and pattern.episodes == {lead.sid}
