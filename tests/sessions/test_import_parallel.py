"""Issue 22: an import reads each file once (its plan comes from the same pass that converts it), and any
number of workers gives the same bytes, the same batches and the same audit and journal records."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from dreamcli.sessions.importers import common, journal, lines, runner
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.importers.units import Node, forest
from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace
from tests.support.transcripts import claude_subagent_file, claude_transcript, codex_rollout, utc

VOLATILE = {"ts", "hash", "prev", "intent", "seconds", "mb_per_s", "head"}  # time, chain links, intent file names


def _corpus(root: Path) -> Path:
    """Families (a lead with subagent files, one with an inline sidechain), loners, a file of summaries
    only, an empty file and a corrupt line."""
    src = root / "projects"
    for i in range(7):
        proj = src / f"-p{i % 3}"
        sid = f"{i:04d}-aaaa"
        claude_transcript(proj / f"{sid}.jsonl", session_id=sid, start=utc(2026, 4, 1 + i, 9), seed=i,
                          rounds=3 + i % 4, sidechain=i == 2)
        if i % 3 == 0:
            for k in range(2):
                claude_subagent_file(proj, sid, f"{i}x{k}", utc(2026, 4, 1 + i, 9, 10 + k), seed=50 + i + k)
    (src / "-p0" / "summaries.jsonl").write_text(json.dumps({"type": "summary", "summary": "s", "leafUuid": "u"})
                                                 + "\n")
    (src / "-p1" / "empty.jsonl").write_bytes(b"")
    with open(src / "-p2" / "0002-aaaa.jsonl", "ab") as f:
        f.write(b"{not json\n")
    return src


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [{k: v for k, v in json.loads(line).items() if k not in VOLATILE} for line in path.read_text().splitlines()]


def _import(ws: Workspace, src: Path, workers: int, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, list]:
    intents: list[dict[str, Any]] = []
    real = journal.write_intent

    def spy(ws_: Workspace, kind: str, payload: dict[str, Any]) -> Path:
        intents.append(payload)
        return real(ws_, kind, payload)

    with monkeypatch.context() as m:
        m.setattr(journal, "write_intent", spy)
        summary = import_transcripts(ws, "claude-code", src, workers=workers).to_json()
    return {k: v for k, v in summary.items() if k not in VOLATILE}, intents


def test_two_workers_write_the_same_bytes_batches_and_records_as_one(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    src = _corpus(tmp_path)
    monkeypatch.setattr(runner, "COMMIT_EVERY_FILES", 4)  # several batches, so batch boundaries are compared
    monkeypatch.setattr(runner, "CHUNK_BYTES", 1)  # one unit per worker task: completion order varies
    one = Workspace(root=tmp_path / "one", source="option")
    two = Workspace(root=tmp_path / "two", source="option")
    s1, intents1 = _import(one, src, 1, monkeypatch)
    s2, intents2 = _import(two, src, 2, monkeypatch)
    assert s1 == s2
    assert (s1["transcripts"], s1["sessions"], s1["children"], s1["empty"], s1["without_messages"]) == (13, 14, 7, 1, 1)
    assert s1["lines"]["corrupt"] == 1
    files1 = {p.relative_to(one.sessions_dir): p.read_bytes() for p in iter_session_files(one)}
    files2 = {p.relative_to(two.sessions_dir): p.read_bytes() for p in iter_session_files(two)}
    assert len(files1) == 14 and files1 == files2
    assert len(intents1) >= 3 and intents1 == intents2  # the same batches, the same planned sessions
    audit1, audit2 = _records(one.audit_path), _records(two.audit_path)
    assert len(audit1) == len(intents1) and audit1 == audit2
    assert not (two.state_dir / "import-staging").exists()


def test_subagent_files_are_converted_with_their_lead_in_one_unit(tmp_path: Path) -> None:
    src = _corpus(tmp_path)
    plan = runner.plan_import("claude-code", src)
    leads = {u.path.name: [c.path.name for c in u.children] for u in plan.units}
    assert leads["0000-aaaa.jsonl"] == ["agent-0x0.jsonl", "agent-0x1.jsonl"]
    assert leads["0001-aaaa.jsonl"] == [] and "agent-0x0.jsonl" not in leads
    assert [p.name for p in plan.empty] == ["empty.jsonl"]
    assert sum(u.files() for u in plan.units) + len(plan.empty) == len(plan.files)


def test_codex_sub_agent_rollouts_join_their_parent_thread(tmp_path: Path) -> None:
    codex_rollout(tmp_path, thread_id="t-lead", start=utc(2026, 5, 1, 9))
    codex_rollout(tmp_path, thread_id="t-kid", start=utc(2026, 5, 1, 9, 5), parent_thread_id="t-lead")
    codex_rollout(tmp_path, thread_id="t-orphan", start=utc(2026, 5, 1, 9, 6), parent_thread_id="t-gone")
    plan = runner.plan_import("codex", tmp_path)
    thread = lambda n: n.path.name.split("-t-")[1]  # noqa: E731
    assert [(thread(u), [thread(c) for c in u.children]) for u in plan.units] == [
        ("lead.jsonl", ["kid.jsonl"]), ("orphan.jsonl", [])]


def test_a_circle_of_parents_leaves_each_file_on_its_own() -> None:
    a, b, c = Path("a"), Path("b"), Path("c")
    roots = forest([(a, 1), (b, 1), (c, 1)], {a: b, b: a, c: a})
    assert [n.path for n in roots] == [a, b]  # a and b point at each other: both stand alone
    assert [n.path for n in roots[0].children] == [c]
    assert Node(a, 5, [Node(b, 7)]).bytes() == 12


class _Counting(io.RawIOBase):
    """A file that counts the bytes handed out by readline and iteration."""

    def __init__(self, path: Path, counts: dict[str, int], *args: Any, **kwargs: Any) -> None:
        self._f = open(path, *args, **kwargs)  # noqa: SIM115
        self._name = str(path)
        self._counts = counts

    def _tally(self, data: bytes) -> bytes:
        self._counts[self._name] = self._counts.get(self._name, 0) + len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        return self._tally(self._f.readline(size if size is not None else -1))

    def __iter__(self) -> _Counting:
        return self

    def __next__(self) -> bytes:
        return self._tally(next(self._f))

    def tell(self) -> int:
        return self._f.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def close(self) -> None:
        self._f.close()


def test_each_file_is_read_once_past_its_first_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _corpus(tmp_path)
    counts: dict[str, int] = {}
    for module in (common, lines):  # the first line (the plan), then every line (the converter)
        monkeypatch.setattr(module, "open_nofollow", lambda path, *a: _Counting(Path(path), counts, "rb", *a))
    ws = Workspace(root=tmp_path / "ws", source="option")
    s = import_transcripts(ws, "claude-code", src, workers=1)
    assert s.sessions == 14
    files = {p: p.stat().st_size + len(p.read_bytes().split(b"\n", 1)[0]) + 1
             for p in src.rglob("*.jsonl") if p.stat().st_size > 0}
    # the first line to check the format and link the file, then every byte once
    assert {str(p): n for p, n in files.items()} == counts
    counts.clear()
    again = import_transcripts(ws, "claude-code", src, workers=1)  # all there: at most the heads are read
    assert again.already_imported == 13 and again.sessions == 0
    assert all(counts[str(p)] <= n for p, n in files.items())


@pytest.mark.parametrize("workers", [1, 2])
def test_a_copied_project_folder_imports_each_session_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           workers: int) -> None:
    """Two transcripts with the same session id (a backup copy of a project folder) were appended into
    one staged file: every session got two session.start lines, the import ended in an internal error
    and a re-run called the damaged files imported. The copy now counts as already imported."""
    import shutil

    src = _corpus(tmp_path)
    shutil.copytree(src / "-p1", src / "-p1-backup")
    monkeypatch.setattr(runner, "CHUNK_BYTES", 1)  # one unit per worker task
    ws = Workspace(root=tmp_path / f"ws{workers}", source="option")
    summary, _ = _import(ws, src, workers, monkeypatch)
    for path in iter_session_files(ws):
        starts = [ln for ln in path.read_text().splitlines() if '"type":"session.start"' in ln]
        assert len(starts) == 1, path
    assert summary["sessions"] == 14 and summary["already_imported"] == 2
    assert not (ws.state_dir / "import-staging").exists()


def test_a_copied_project_folder_gives_the_same_summary_with_any_workers(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    src = _corpus(tmp_path)
    shutil.copytree(src / "-p1", src / "-p1-backup")
    monkeypatch.setattr(runner, "CHUNK_BYTES", 1)
    s1, _ = _import(Workspace(root=tmp_path / "one", source="option"), src, 1, monkeypatch)
    s2, _ = _import(Workspace(root=tmp_path / "two", source="option"), src, 2, monkeypatch)
    assert s1 == s2


@pytest.mark.parametrize("workers", [1, 2])
def test_every_staged_file_is_synced_before_it_is_moved_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           workers: int) -> None:
    """The fsyncs start as each unit comes in (in threads, while the next units convert); a batch is
    moved in only once each of its staged files is synced."""
    synced: list[str] = []
    moved_unsynced: list[str] = []
    real_fsync, real_commit = runner._fsync, runner._commit

    def fsync(path: str | Path) -> None:
        real_fsync(path)
        synced.append(str(path))

    def commit(ws_: Workspace, result: Any, *args: Any) -> None:
        moved_unsynced.extend(staged for _sid, staged in result.staged if staged not in synced)
        real_commit(ws_, result, *args)

    monkeypatch.setattr(runner, "_fsync", fsync)
    monkeypatch.setattr(runner, "_commit", commit)
    monkeypatch.setattr(runner, "COMMIT_EVERY_FILES", 3)
    ws = Workspace(root=tmp_path / "ws", source="option")
    summary = import_transcripts(ws, "claude-code", _corpus(tmp_path), workers=workers)
    staged = [p for p in synced if "/import-staging/" in p]
    assert summary.sessions == len(staged) == len(set(staged)) > 7  # each staged file once, children too
    assert moved_unsynced == []


def test_a_failed_fsync_stops_the_import_before_its_batch_moves_in(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync = runner._fsync

    def fsync(path: str | Path) -> None:
        if "/import-staging/" in str(path):
            raise OSError(5, "Input/output error")
        real_fsync(path)

    monkeypatch.setattr(runner, "_fsync", fsync)
    ws = Workspace(root=tmp_path / "ws", source="option")
    with pytest.raises(OSError, match="Input/output error"):
        import_transcripts(ws, "claude-code", _corpus(tmp_path), workers=1)
    assert list(iter_session_files(ws)) == []
    assert not (ws.state_dir / "import-staging").exists()
