"""Signal extraction from single session logs: templates, error -> recovery pairs, corrections, loops,
memory notes, corrupt lines, episodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.signals import scan_session
from dreamcli.dream.text import error_template, input_key, mask, targets
from dreamcli.sessions.reader import ReadStats
from dreamcli.sessions.writer import SessionWriter
from dreamcli.words import stems
from dreamcli.workspace.home import Workspace


@pytest.mark.parametrize(("message", "template"), [
    ("msa-x-2024.docx is a binary file (zip archive); cannot read as text",
     "<file.docx> is a binary file (zip archive); cannot read as text"),
    ("b.pdf is a binary file (PDF document, version 1.4); cannot read as text",
     "<file.pdf> is a binary file (PDF document, version <n>); cannot read as text"),
    ("Traceback (most recent call last):\n  File \"x.py\", line 3, in f\nKeyError: 'customer_id'", "KeyError: <q>"),
    ("cannot open /var/log/app/2026-10-01.log: permission denied", "cannot open <file.log>: permission denied"),
    ("request 01M4152SKWA207M7ANDJV2R8ME failed at 0x7ffe1234", "request <id> failed at <hex>"),
    ("timeout after 30s talking to /srv/api/v2/", "timeout after <n> talking to <path>"),
])
def test_error_templates_mask_what_varies(message: str, template: str) -> None:
    assert error_template(message) == template


def test_targets_input_keys_and_stems() -> None:
    assert "msa.docx" in targets("bash", {"command": "unzip -p msa.docx word/document.xml | sed 's/<[^>]*>//g'"})
    assert targets("read", {"file_path": "msa.docx"}) == frozenset({"msa.docx"})
    assert {"logs", "logs/api"} <= targets("bash", {"command": 'grep -rn "E" logs/api/'})
    big = "x" * 5000
    assert input_key("write", {"path": "a", "content": big}) == input_key("write", {"content": big, "path": "a"})
    assert input_key("write", {"path": "a", "content": big}) != input_key("write", {"path": "a", "content": big + "y"})
    assert stems("Please cite clauses by section number") == stems("cited clause sections numbers")
    assert mask('grep -n "egfr" records/labs-2025-06-12.txt') == "grep -n <q> <file.txt>"


class Log:
    """Write a session with tool calls in a few lines."""

    def __init__(self, ws: Workspace, parent: str | None = None, task: str = "t") -> None:
        self.w = SessionWriter(ws)
        self.w.start(task={"name": task, "prompt": "p"}, model=None, workdir=None, parent_session_id=parent)
        self.w.message("user", [{"type": "text", "text": "do the task"}])
        self.n = 0

    def call(self, name: str, inp: dict[str, Any], out: str, error: bool = False) -> None:
        self.n += 1
        tid = f"tu{self.n}"
        self.w.message("assistant", [{"type": "tool_use", "id": tid, "name": name, "input": inp}])
        self.w.tool(tool_use_id=tid, name=name, error_kind="exception" if error else None)
        self.w.message("user", [{"type": "tool_result", "tool_use_id": tid, "is_error": error, "content": out}])

    def say(self, text: str) -> None:
        self.w.message("user", [{"type": "text", "text": text}])

    def end(self) -> Path:
        self.w.end("completed", totals={"cost_usd": 0.01})
        return self.w.path


def _scan(agg: Aggregates, *paths: Path) -> ReadStats:
    stats = ReadStats()
    for p in paths:
        scan_session(p, agg, playbook="default", stats=stats)
    return stats


def test_error_recovery_pairs_on_the_same_target(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    log = Log(ws)
    log.call("read", {"file_path": "a.docx"}, "a.docx is a binary file (zip archive)", error=True)
    log.call("bash", {"command": "ls"}, "a.docx")  # inspection: not the fix
    log.call("bash", {"command": "cat other.txt"}, "hello")  # another target: not the fix
    log.call("bash", {"command": "pandoc -t plain a.docx"}, "12. TERMINATION")
    agg = Aggregates()
    _scan(agg, log.end())
    (pat,) = [p for p in agg.patterns.values() if p.kind == "error"]
    assert pat.label == "read" and pat.template == "<file.docx> is a binary file (zip archive)"
    (rec,) = pat.recoveries.values()
    assert rec.label == "bash:pandoc" and rec.example == "pandoc -t plain FILE.docx"
    assert pat.evidence[0]["seq"] == 4 and "a.docx" in pat.evidence[0]["excerpt"]


def test_no_recovery_when_the_same_call_is_retried(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    log = Log(ws)
    log.call("bash", {"command": "make build"}, "error: flaky", error=True)
    log.call("bash", {"command": "make build"}, "ok")  # same call again: a retry, not a workaround
    agg = Aggregates()
    _scan(agg, log.end())
    (pat,) = [p for p in agg.patterns.values() if p.kind == "error"]
    assert pat.recoveries == {}


def test_corrections_loops_memory_notes(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    log = Log(ws)
    log.say("Also add a summary at the top.")  # a follow-up, not a correction
    log.say("No, cite clauses by section number, not by page.")
    log.say('Read notes.txt again. Do not change anything, then reply exactly "Continuation verified."')  # a probe
    log.say("Stop. Use rg instead of grep, and print exactly the matching lines.")  # a correction all the same
    for _ in range(3):
        log.call("bash", {"command": "grep -n egfr labs.txt"}, "14: eGFR 52")
    log.call("memory", {"command": "create", "path": "/memories/meds.md",
                        "file_text": "The exported medication list can be stale; trust the latest visit."}, "ok")
    agg = Aggregates()
    _scan(agg, log.end())
    kinds = sorted(p.kind for p in agg.patterns.values())
    assert kinds == ["correction", "correction", "loop", "memory"]
    said = sorted(p.template for p in agg.patterns.values() if p.kind == "correction")
    assert any("section number" in t for t in said) and any("rg instead of grep" in t for t in said)
    assert not any("Continuation" in t for t in said)
    loop = next(p for p in agg.patterns.values() if p.kind == "loop")
    assert loop.examples == {"grep -n egfr labs.txt": 1} and loop.evidence[0]["excerpt"].endswith("x3")
    assert agg.memory_touch["/memories/meds.md"]


def test_sub_agents_count_once_with_their_lead(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    lead = Log(ws)
    lead_id = lead.w.session_id
    paths = [lead.end()]
    for _ in range(3):
        child = Log(ws, parent=lead_id)
        child.call("bash", {"command": "grep -rn E logs/"}, "(no output; exit code 1)", error=True)
        paths.append(child.end())
    other = Log(ws)
    other.call("bash", {"command": "grep -rn E logs/"}, "(no output; exit code 1)", error=True)
    paths.append(other.end())
    agg = Aggregates()
    _scan(agg, *paths)
    (pat,) = [p for p in agg.patterns.values() if p.kind == "error"]
    assert pat.support == 2 and pat.occurrences == 4
    assert pat.episodes == {lead_id, other.w.session_id}
    assert len(pat.sessions) == 4


def test_corrupt_and_cut_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    log = Log(ws)
    log.call("read", {"file_path": "x.pdf"}, "x.pdf is a binary file", error=True)
    path = log.end()
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"{not json\n" + b"".join(lines[1:]) + b'{"v":1,"type":"mess')
    agg = Aggregates()
    stats = _scan(agg, path)
    assert (stats.corrupt, stats.truncated) == (1, 1)
    assert any(p.kind == "error" for p in agg.patterns.values())
    not_a_session = tmp_path / "x.jsonl"
    not_a_session.write_text('{"v":1,"type":"message","ts":"x","session_id":"y","seq":0}\n')
    assert scan_session(not_a_session, agg, playbook="default", stats=ReadStats()) is None


def _mask_every_pass(text: str) -> str:
    """mask as it was: every pass over every text (the fast version skips a pass its pattern cannot match)."""
    from dreamcli.dream import hosts
    from dreamcli.dream import text as t

    s = t._QUOTED.sub(lambda m: m.group(0) if t._MEANINGFUL.match(m.group(0)[1:-1]) else "<q>", text)
    s = t._ID.sub("<id>", s)
    s = t._HOST_NAME.sub(hosts.host_mark, s)
    s = t._HEX.sub("<hex>", s)
    s = t._FILE.sub(hosts.file_or_host, s)
    s = t._URL_PATH.sub(hosts.path_or_host, s) if "://" in s else t._PATH.sub("<path>", s)
    s = t._NUMBER.sub("<n>", s)
    s = t._SPACE.sub(" ", s).strip()
    return s[: t._cut_at(s, t.MAX_TEMPLATE)]


_MASK_ALPHABET = hs.sampled_from([*"aAfFxz09٣ .-/~_'\"`<>:,%\n", "0x1f", "a.gz", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "ERR_X",
                                  "utf-8", "deadbeef1", "toolu_", "toolu_ab1", "@", "x.org", "://"])


@settings(max_examples=500, deadline=None)
@given(hs.lists(_MASK_ALPHABET, max_size=40).map("".join))
def test_mask_skips_only_passes_that_could_not_match(text: str) -> None:
    assert mask.__wrapped__(text) == _mask_every_pass(text)
