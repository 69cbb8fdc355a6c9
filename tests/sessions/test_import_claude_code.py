"""Claude Code transcripts -> sessions: the shared samples and generated transcripts."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import jsonschema
import pytest

from dreamcli.ids import ulid_time_ms
from dreamcli.sessions.importers.common import parse_ts_ms
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import read_events
from dreamcli.sessions.schema import schema_path
from dreamcli.workspace.home import Workspace
from tests.support.paths import CLAUDE_CODE_SAMPLES
from tests.support.transcripts import ClaudeSession, claude_subagent_file, claude_transcript, utc

SAMPLES = CLAUDE_CODE_SAMPLES
VALIDATOR = jsonschema.Draft202012Validator(json.loads(Path(schema_path()).read_text()))


def sessions(ws: Workspace) -> dict[str, list[dict]]:
    """source_id -> events of every session in the workspace (all checked against the schema)."""
    out = {}
    for p in iter_session_files(ws):
        events, stats = read_events(p)
        assert stats.skipped == 0
        for e in events:
            VALIDATOR.validate(e)
        out[events[0]["import"]["source_id"]] = events
    return out


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def test_shared_samples_become_sessions_with_source_and_import_info(new_ws: Workspace) -> None:
    s = import_transcripts(new_ws, "claude-code", SAMPLES)
    assert (s.files, s.transcripts, s.sessions) == (4, 4, 4)
    got = sessions(new_ws)
    assert set(got) == {"edge_cases", "representative_messages", "session_b", "todowrite_examples"}
    for source_id, events in got.items():
        start = events[0]
        assert start["type"] == "session.start" and start["source"] == "claude-code"
        assert start["import"]["path"] == str(SAMPLES / f"{source_id}.jsonl")
        assert len(start["session_id"]) == 26
        assert ulid_time_ms(start["session_id"]) == parse_ts_ms(start["ts"])
        assert events[-1]["type"] == "session.end"
    # summary lines carry nothing to import; the stray lines of edge_cases are skipped and counted
    assert s.lines.ignored["summary"] == 3
    assert s.lines.corrupt == 3  # "massive error", 42, [1]
    assert s.lines.unknown == {"(no type)": 1}  # {"silly": "this"}
    assert s.lines.malformed == 2  # "message": "error" and a message without content


def test_samples_keep_tool_errors_and_plain_string_content(new_ws: Workspace) -> None:
    import_transcripts(new_ws, "claude-code", SAMPLES)
    got = sessions(new_ws)
    edge = got["edge_cases"]
    results = [b for e in of_type(edge, "message") for b in e["content"] if b["type"] == "tool_result"]
    assert [r["is_error"] for r in results] == [True]
    fact = [e for e in of_type(edge, "tool") if e["tool_use_id"] == "tool_edge_001"]
    assert fact[0]["name"] == "FailingTool" and fact[0]["error_kind"] == "exception"
    assert edge[-1]["totals"]["tool_errors"] == 1
    todo = got["todowrite_examples"]
    first_user = of_type(todo, "message")[0]
    assert first_user["content"] == [{"type": "text", "text":
                                      "Can you help me implement a new feature with proper task management?"}]
    assert todo[0]["task"]["prompt"].startswith("Can you help me implement")
    ok = [b for e in of_type(todo, "message") for b in e["content"] if b["type"] == "tool_result"]
    assert ok and all(b["is_error"] is False for b in ok)


def test_one_line_per_block_is_one_message_and_usage_counts_once(new_ws: Workspace, tmp_path: Path) -> None:
    exp = claude_transcript(tmp_path / "cc" / "p" / "s1.jsonl", session_id="s1", start=utc(2026, 3, 1, 9),
                            rounds=5, error_every=2)
    s = import_transcripts(new_ws, "claude-code", tmp_path / "cc")
    events = sessions(new_ws)["s1"]
    assistant = [e for e in of_type(events, "message") if e["role"] == "assistant"]
    ids = [e["api_message_id"] for e in assistant]
    assert len(ids) == len(set(ids)) == exp.turns  # text + tool_use lines of one message: one event
    assert any(len(e["content"]) == 2 for e in assistant)
    totals = events[-1]["totals"]
    assert totals["turns"] == exp.turns
    assert (totals["input_tokens"], totals["output_tokens"]) == (exp.input_tokens, exp.output_tokens)
    assert (totals["cache_read_tokens"], totals["cache_write_tokens"]) == (exp.cache_read_tokens,
                                                                          exp.cache_write_tokens)
    assert (totals["tool_calls"], totals["tool_errors"]) == (exp.tool_calls, exp.tool_errors) == (5, 2)
    assert s.lines.unknown == {"future-line-kind": 1}
    assert s.lines.ignored["file-history-snapshot"] == 1 and s.lines.ignored["system:compact_boundary"] == 1
    errors = [e for e in of_type(events, "tool") if e["error_kind"]]
    assert len(errors) == 2 and all(e["name"] == "Bash" for e in errors)


def test_same_message_id_split_by_other_lines_counts_usage_once(new_ws: Workspace, tmp_path: Path) -> None:
    import random

    s = ClaudeSession("split", utc(2026, 3, 2, 9), random.Random(1))
    s.user("go")
    usage = {"input_tokens": 100, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
             "output_tokens": 50}
    s.assistant([{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}], usage=usage)
    s.user([{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}])
    # the same API message continues after the tool result (Claude Code streams blocks as they come)
    s.msg_n -= 1
    s.assistant([{"type": "text", "text": "done"}], usage=usage)
    s.write(tmp_path / "cc" / "split.jsonl")
    import_transcripts(new_ws, "claude-code", tmp_path / "cc")
    events = sessions(new_ws)["split"]
    assistant = [e for e in of_type(events, "message") if e["role"] == "assistant"]
    assert len(assistant) == 2 and "usage" in assistant[0] and "usage" not in assistant[1]
    assert events[-1]["totals"]["input_tokens"] == 100 and events[-1]["totals"]["turns"] == 1


def test_truncated_last_line_is_tolerated(new_ws: Workspace, tmp_path: Path) -> None:
    claude_transcript(tmp_path / "cc" / "cut.jsonl", session_id="cut", start=utc(2026, 3, 3, 9),
                      truncate_last=True)
    s = import_transcripts(new_ws, "claude-code", tmp_path / "cc")
    assert s.sessions == 1 and s.lines.truncated == 1
    events = sessions(new_ws)["cut"]
    assert events[-1]["type"] == "session.end" and events[-1]["status"] == "completed"


def test_inline_sidechain_becomes_a_child_session(new_ws: Workspace, tmp_path: Path) -> None:
    exp = claude_transcript(tmp_path / "cc" / "main.jsonl", session_id="main", start=utc(2026, 3, 4, 9),
                            sidechain=True)
    s = import_transcripts(new_ws, "claude-code", tmp_path / "cc")
    assert (s.sessions, s.children) == (2, 1)
    got = sessions(new_ws)
    parent = got["main"]
    (child_key,) = [k for k in got if k.startswith("main#sidechain:")]
    child = got[child_key]
    assert child[0]["parent_session_id"] == parent[0]["session_id"]
    assert child[0]["task"]["prompt"] == "Search the codebase for the parser config"
    assert "sidechain" in child[0]["tags"]
    subs = of_type(parent, "subagent")
    assert [(e["event"], e["child_session_id"]) for e in subs] == [
        ("started", child[0]["session_id"]), ("finished", child[0]["session_id"])]
    assert parent[-1]["totals"]["turns"] == exp.turns  # the sidechain's turn is the child's
    assert child[-1]["totals"]["turns"] == 1
    texts = [b.get("text", "") for e in of_type(parent, "message") for b in e["content"]]
    assert not any("Found it in config.py" in t for t in texts)


def test_subagent_files_become_children_of_their_session(new_ws: Workspace, tmp_path: Path) -> None:
    proj = tmp_path / "projects" / "-home-dev-proj"
    claude_transcript(proj / "sess-1.jsonl", session_id="sess-1", start=utc(2026, 3, 5, 9), rounds=3)
    _, sub_exp = claude_subagent_file(proj, "sess-1", "a1b2c3", utc(2026, 3, 5, 9, 0, 5))
    s = import_transcripts(new_ws, "claude-code", tmp_path / "projects")
    assert (s.sessions, s.children, s.transcripts) == (2, 1, 2)
    got = sessions(new_ws)
    parent, child = got["sess-1"], got["sess-1/agent-a1b2c3"]
    assert child[0]["parent_session_id"] == parent[0]["session_id"]
    assert child[0]["agent"] == "agent-a1b2c3" and "subagent" in child[0]["tags"]
    assert child[-1]["totals"]["tool_calls"] == sub_exp.tool_calls == 1
    started = [e for e in of_type(parent, "subagent") if e["event"] == "started"]
    assert [e["child_session_id"] for e in started] == [child[0]["session_id"]]
    # announced in time order: after the parent's events that happened before the child started
    assert started[0]["ts"] == child[0]["ts"]


def test_subagent_file_imported_alone_still_points_at_its_parent(new_ws: Workspace, tmp_path: Path) -> None:
    proj = tmp_path / "projects" / "p"
    claude_transcript(proj / "sess-2.jsonl", session_id="sess-2", start=utc(2026, 3, 6, 9))
    sub, _ = claude_subagent_file(proj, "sess-2", "ffee01", utc(2026, 3, 6, 9, 1))
    import_transcripts(new_ws, "claude-code", sub.parent)
    child = sessions(new_ws)["sess-2/agent-ffee01"]
    import_transcripts(new_ws, "claude-code", proj / "sess-2.jsonl")
    parent = sessions(new_ws)["sess-2"]
    assert child[0]["parent_session_id"] == parent[0]["session_id"]


def test_reimport_is_idempotent_and_reports_grown_transcripts(new_ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "cc"
    shutil.copytree(SAMPLES, src, ignore=shutil.ignore_patterns("LICENSE*"))
    claude_transcript(src / "x" / "gen.jsonl", session_id="gen", start=utc(2026, 3, 7, 9), sidechain=True)
    first = import_transcripts(new_ws, "claude-code", src)
    before = {p: p.read_bytes() for p in iter_session_files(new_ws)}
    again = import_transcripts(new_ws, "claude-code", src)
    assert first.sessions == 6  # five transcripts, one with a sidechain
    assert again.sessions == 0 and again.already_imported == again.transcripts == 5
    assert {p: p.read_bytes() for p in iter_session_files(new_ws)} == before
    with open(src / "session_b.jsonl", "a") as f:
        f.write(json.dumps({"type": "user", "sessionId": "session_b", "timestamp": "2025-06-14T12:05:00Z",
                            "message": {"role": "user", "content": "one more"}}) + "\n")
    grown = import_transcripts(new_ws, "claude-code", src)
    assert grown.sessions == 0 and (grown.updated, grown.changed_since_import) == (1, 0)  # re-imported whole


def test_secrets_are_redacted_before_they_reach_disk(new_ws: Workspace, tmp_path: Path) -> None:
    import random

    key = "sk-ant-api03-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
    s = ClaudeSession("sec", utc(2026, 3, 8, 9), random.Random(2))
    s.user(f"use this key {key} please")
    s.tool_round("Bash", {"command": f"export ANTHROPIC_API_KEY={key}"}, "ok")
    s.write(tmp_path / "cc" / "sec.jsonl")
    import_transcripts(new_ws, "claude-code", tmp_path / "cc", redaction_patterns=[r"hunter2"])
    text = "".join(p.read_text() for p in iter_session_files(new_ws))
    assert key not in text and "[REDACTED:anthropic]" in text


def test_workers_give_the_same_sessions_as_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.sessions.importers import runner

    src = tmp_path / "cc"
    for i in range(4):
        claude_transcript(src / f"s{i}.jsonl", session_id=f"s{i}", start=utc(2026, 3, 9, 9, i), seed=i,
                          sidechain=i == 0)
    one = Workspace(root=tmp_path / "one", source="option")
    many = Workspace(root=tmp_path / "many", source="option")
    import_transcripts(one, "claude-code", src, workers=1)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    s = import_transcripts(many, "claude-code", src, workers=2)
    assert s.sessions == 5
    names = lambda w: sorted(p.relative_to(w.sessions_dir) for p in iter_session_files(w))  # noqa: E731
    assert names(one) == names(many)
    for p in iter_session_files(one):
        a = [json.loads(line) for line in p.read_text().splitlines()]
        twin = many.sessions_dir / p.relative_to(one.sessions_dir)
        b = [json.loads(line) for line in twin.read_text().splitlines()]
        assert [{k: v for k, v in e.items() if k != "dreamcli_version"} for e in a] == \
               [{k: v for k, v in e.items() if k != "dreamcli_version"} for e in b]
    assert not (many.state_dir / "import-staging").exists()


def test_transcript_opening_with_many_bookkeeping_lines_is_not_empty(new_ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "cc"
    claude_transcript(src / "long.jsonl", session_id="long", start=utc(2026, 3, 10, 9))
    body = (src / "long.jsonl").read_text()
    snapshot = json.dumps({"type": "file-history-snapshot", "messageId": "m",
                           "snapshot": {"trackedFileBackups": {"big.py": "x" * 5000}}})
    (src / "long.jsonl").write_text((snapshot + "\n") * 60 + body)  # 300 KB before the first message
    s = import_transcripts(new_ws, "claude-code", src)
    assert (s.transcripts, s.sessions, s.lines.ignored["file-history-snapshot"]) == (1, 1, 61)
    start = sessions(new_ws)["long"][0]
    assert start["task"]["prompt"] == "Please fix the failing tests in module 0"
    assert start["ts"].startswith("2026-03-10T09:00:")


def round_trip(session_id: str = "dup-1") -> ClaudeSession:
    """A prompt, a tool call, its result and an answer (tests/sessions/test_import_upgrade.py uses it too)."""
    s = ClaudeSession(session_id, utc(2026, 5, 1, 9), random.Random(3))
    s.user("Fix the failing parser test")
    s.tool_round("Bash", {"command": "pytest -q"}, "1 failed")
    s.assistant([{"type": "text", "text": "Fixed: the parser skipped blank lines."}])
    return s


def _import_lines(tmp_path: Path, name: str, lines: list[str]) -> tuple[object, list[dict]]:
    """The summary and the events (but session.start, and each event's seq) of a file of these lines."""
    ws = Workspace(root=tmp_path / f"ws-{name}", source="option")
    (tmp_path / name).mkdir()
    (tmp_path / name / "dup-1.jsonl").write_text("\n".join(lines) + "\n")
    summary = import_transcripts(ws, "claude-code", tmp_path / name, workers=1)
    [events] = sessions(ws).values()
    return summary, [{k: v for k, v in e.items() if k != "seq"} for e in events[1:]]


def test_a_line_written_twice_with_its_uuid_is_read_once(tmp_path: Path) -> None:
    """A resumed session can write the same line again (same uuid): one event, as if it was written once; the
    copies are counted as ignored `duplicate`."""
    lines = round_trip().lines  # prompt, tool call, its result, answer
    clean, want = _import_lines(tmp_path, "clean", lines)
    twice = [lines[0], lines[1], lines[1], lines[2], lines[2], lines[3], lines[0]]
    got_summary, got = _import_lines(tmp_path, "twice", twice)
    assert got == want
    assert got_summary.lines.ignored == {"duplicate": 3} and got_summary.lines.imported == clean.lines.imported
    assert (got_summary.totals, got_summary.events) == (clean.totals, clean.events)


def test_lines_sharing_a_uuid_with_other_content_are_all_read(tmp_path: Path) -> None:
    """Claude Code writes some different lines under one uuid (the claude-code-log fixture edge_cases.jsonl has
    two; hook context lines of 2.1.x share one): only a copy of the same line is dropped."""
    s = round_trip()
    second = json.loads(s.lines[0])
    second["message"]["content"] = "And the lexer test too"
    summary, events = _import_lines(tmp_path, "same-uuid", [s.lines[0], json.dumps(second), *s.lines[1:]])
    prompts = [e["content"] for e in of_type(events, "message") if e["role"] == "user" and not any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in e["content"])]
    assert len(prompts) == 2 and "duplicate" not in summary.lines.ignored


def test_a_usage_of_strings_is_counted_as_malformed_and_the_message_kept(tmp_path: Path) -> None:
    lines = round_trip().lines
    clean, want = _import_lines(tmp_path, "clean", lines)
    answer = json.loads(lines[3])
    answer["message"]["usage"] = {k: str(v) for k, v in answer["message"]["usage"].items()}
    summary, got = _import_lines(tmp_path, "strings", [*lines[:3], json.dumps(answer)])
    assert summary.lines.malformed == 1 and clean.lines.malformed == 0
    assert [e["type"] for e in got] == [e["type"] for e in want]  # the answer is still there...
    assert "usage" not in of_type(got, "message")[-1] and "usage" in of_type(want, "message")[-1]  # ...uncounted
    assert summary.totals.output_tokens == clean.totals.output_tokens - json.loads(lines[3])["message"]["usage"][
        "output_tokens"]
    assert summary.totals.turns == clean.totals.turns


def _answer_with_usage(usage: dict[str, object]) -> list[str]:
    """A prompt and a one-line answer whose usage object is `usage` (as written, nulls and all)."""
    s = ClaudeSession("dup-1", utc(2026, 5, 1, 9), random.Random(3))
    s.user("hello")
    s.assistant([{"type": "text", "text": "hi"}])
    answer = json.loads(s.lines[-1])
    answer["message"]["usage"] = usage
    return [s.lines[0], json.dumps(answer)]


def test_a_null_usage_counter_counts_zero_and_the_line_is_imported(tmp_path: Path) -> None:
    """The API's usage counters are optional (null): a null counts as a missing one, the others are read."""
    usage = {"input_tokens": 120, "output_tokens": 30, "cache_read_input_tokens": None,
             "cache_creation_input_tokens": None}
    summary, events = _import_lines(tmp_path, "nulls", _answer_with_usage(usage))
    assert (summary.lines.imported, summary.lines.malformed) == (2, 0)
    assert of_type(events, "message")[-1]["usage"] == {"input_tokens": 120, "output_tokens": 30,
                                                       "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
    t = summary.totals
    assert (t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens) == (120, 30, 0, 0)


def test_an_odd_usage_counter_keeps_the_valid_ones_and_counts_the_line_malformed(tmp_path: Path) -> None:
    usage = {"input_tokens": 120, "output_tokens": "30", "cache_read_input_tokens": 7,
             "cache_creation_input_tokens": True}
    summary, events = _import_lines(tmp_path, "odd", _answer_with_usage(usage))
    assert (summary.lines.imported, summary.lines.malformed) == (1, 1)
    assert of_type(events, "message")[-1]["usage"] == {"input_tokens": 120, "output_tokens": 0,
                                                       "cache_read_input_tokens": 7, "cache_creation_input_tokens": 0}
    t = summary.totals
    assert (t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens, t.turns) == (120, 0, 7, 0, 1)
