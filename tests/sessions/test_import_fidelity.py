"""The fidelity corpus (tests/sessions/fidelity/): real recordings of Claude Code 2.0.76–2.1.258 and
Codex 0.104–0.154 from public MIT projects, older public fixtures and constructed transcripts of both
formats, imported and checked against an independent reading of each file
(tests/sessions/fidelity_reader.py) and the counts in expected.json: tool calls, failed calls with their
exit codes, unanswered calls, the status of how the file ends, the task prompt, durations, messages,
usage, the release that wrote the file, and the line types the importer does not know."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.sessions.importers.dryrun import dry_run_import
from dreamcli.workspace.home import Workspace
from tests.sessions.fidelity_reader import Reading, read_claude_code, read_codex
from tests.sessions.shapes import check_totals_equal_events, imported, of_type, tools

CORPUS = Path(__file__).parent / "fidelity"
EXPECTED = {k: v for k, v in json.loads((CORPUS / "expected.json").read_text()).items() if not k.startswith("_")}
SOURCE = {"claude-code": "claude-code", "codex": "codex"}
RECORDED = sorted(k for k, v in EXPECTED.items() if "version" in v)  # real recordings of current releases


def _key(events: list[dict]) -> str:
    return str(Path(events[0]["import"]["path"]).relative_to(CORPUS))


def _reading(rel: str) -> Reading:
    path = CORPUS / rel
    if rel.startswith("codex/"):
        return read_codex(path)
    return read_claude_code(path, sidechains="subagents" in path.parts)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[dict], dict]]:
    """relative path -> (events of the file's own session, its expected counts), both formats."""
    out: dict[str, tuple[list[dict], dict]] = {}
    for fmt in ("claude-code", "codex"):
        ws = Workspace(root=tmp_path_factory.mktemp(f"ws-{fmt}"), source="option")
        _, got = imported(ws, fmt, CORPUS / fmt)
        for events in got.values():
            if "sidechain" in events[0]["tags"]:
                continue
            out[_key(events)] = (events, EXPECTED[_key(events)])
    return out


def test_every_file_of_the_corpus_is_imported_and_expected(corpus: dict) -> None:
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.jsonl")}
    assert set(corpus) == files == set(EXPECTED)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_counts_match_the_file(corpus: dict, rel: str) -> None:
    events, exp = corpus[rel]
    reading = _reading(rel)
    totals = events[-1]["totals"]
    # the independent reading of the file
    assert totals["tool_calls"] == len(reading.calls)
    assert totals["tool_errors"] == len(reading.failed)
    assert totals["tool_unanswered"] == reading.unanswered
    facts = tools(events)
    assert {t for t, e in facts.items() if e["error_kind"]} == reading.failed
    if reading.user_prompts and not exp.get("prompt_redacted"):
        assert events[0]["task"]["prompt"] == reading.user_prompts[0]
    # what was counted by hand
    assert (totals["tool_calls"], totals["tool_errors"], totals["tool_unanswered"]) == (
        exp["tool_calls"], exp["tool_errors"], exp["tool_unanswered"])
    assert events[-1]["status"] == exp["status"]
    if "prompt" in exp:
        assert events[0]["task"]["prompt"] == exp["prompt"]
    if "error_kinds" in exp:
        assert sorted(e["error_kind"] for e in facts.values() if e["error_kind"]) == exp["error_kinds"]
    for call_id, code in exp.get("exit_codes", {}).items():
        assert facts[call_id]["exit_code"] == code
    for call_id, ms in exp.get("durations_ms", {}).items():
        assert facts[call_id]["duration_ms"] == ms
    if "children" in exp:
        assert len([e for e in of_type(events, "subagent") if e["event"] == "started"]) == exp["children"]
    check_totals_equal_events(events)


@pytest.mark.parametrize("rel", RECORDED)
def test_recorded_by_the_release_it_claims(rel: str) -> None:
    """The real recordings are what expected.json (and SOURCE.md) say: current releases."""
    version = _reading(rel).version
    assert version == EXPECTED[rel]["version"]
    major, minor = (int(x) for x in str(version).split(".")[:2])
    assert (major, minor) >= ((2, 0) if rel.startswith("claude-code/") else (0, 104))


@pytest.mark.parametrize("rel", RECORDED)
def test_messages_and_usage_match_the_file(corpus: dict, rel: str) -> None:
    """Messages: one user message per user line (Claude Code) or per user message and tool output
    (Codex); one assistant message per run of lines of one API message id (Claude Code). Usage: each
    API message's output tokens once, at their largest (Claude Code rewrites a message's usage on each
    of its lines as the reply streams)."""
    events, _exp = corpus[rel]
    reading = _reading(rel)
    msgs = of_type(events, "message")
    assert sum(1 for m in msgs if m["role"] == "user") == reading.user_messages
    if rel.startswith("codex/"):
        return
    assert sum(1 for m in msgs if m["role"] == "assistant") == reading.assistant_messages
    # an API message whose lines a tool result interrupts is two runs (spotter/tool_heavy): the later
    # lines carry the final count, and the totals, like the messages' usage, count it once
    assert events[-1]["totals"]["output_tokens"] == reading.output_tokens
    assert sum((m.get("usage") or {}).get("output_tokens", 0) for m in msgs) == reading.output_tokens


def test_answered_calls_have_durations(corpus: dict) -> None:
    """Both formats carry timestamps or durations: every answered call of the current-format files
    (constructed and recorded) has one."""
    for rel, (events, exp) in corpus.items():
        if "constructed" not in rel and "version" not in exp:
            continue
        for fact in tools(events).values():
            if not fact.get("unanswered"):
                assert fact["duration_ms"] is not None, (rel, fact["tool_use_id"])


@pytest.mark.parametrize("fmt", ["claude-code", "codex"])
def test_dry_run_reports_per_file_and_unknown_lines(tmp_path: Path, fmt: str) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    report = dry_run_import(ws, fmt, CORPUS / fmt)
    assert not (tmp_path / "ws" / "sessions").exists()  # nothing written
    by_file = {str(Path(r["path"]).relative_to(CORPUS)): r for r in report["reports"]}
    assert set(by_file) == {k for k in EXPECTED if k.startswith(fmt + "/")}
    for rel, r in by_file.items():
        exp = EXPECTED[rel]
        assert r["sessions"] == 1 and not r["already_imported"]
        assert (r["totals"]["tool_calls"], r["totals"]["tool_errors"], r["totals"]["tool_unanswered"]) == (
            exp["tool_calls"], exp["tool_errors"], exp["tool_unanswered"])
        assert r["statuses"] == {exp["status"]: 1}
        assert r["lines"]["unknown"] == exp.get("unknown", {})
    unknown: dict[str, int] = {}
    for rel in by_file:
        for name, n in EXPECTED[rel].get("unknown", {}).items():
            unknown[name] = unknown.get(name, 0) + n
    assert report["unknown"] == unknown
    assert report["files_with_unknown_lines"] == sum(1 for rel in by_file if EXPECTED[rel].get("unknown"))
