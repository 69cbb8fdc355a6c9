"""One `Totals` for agent runs and imported transcripts (dreamcli.sessions.totals)."""

from __future__ import annotations

import json
from pathlib import Path

from dreamcli.agent import usage
from dreamcli.sessions.importers import builder, context, runner
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.sessions.totals import Totals
from dreamcli.workspace.home import Workspace
from tests.support.transcripts import claude_transcript, utc

IMPORT_TOTAL_KEYS = {"turns", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                     "tool_calls", "tool_errors"}


def test_agent_and_importers_share_one_totals_class() -> None:
    assert usage.Totals is Totals and builder.Totals is Totals
    assert type(context.UnitResult(path="x").totals) is Totals
    assert type(runner.ImportSummary(source="codex", path="x").totals) is Totals


def test_usage_counters_add_up_the_same_way_for_both() -> None:
    t = Totals()
    t.add_usage({"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": 5})
    t.add_turn({"input_tokens": 1, "cache_creation_input_tokens": 7}, 0.25)
    t.add_tool(True)
    t.add_tool(False)
    assert (t.turns, t.input_tokens, t.output_tokens, t.cache_read_tokens, t.cache_write_tokens) == (1, 11, 2, 5, 7)
    assert (t.tool_calls, t.tool_errors, t.to_json()["cost_usd"]) == (2, 1, 0.25)


def test_import_summary_totals_keep_their_keys(tmp_path: Path) -> None:
    claude_transcript(tmp_path / "p" / "s.jsonl", session_id="s", start=utc(2026, 5, 5, 9), seed=1)
    s = import_transcripts(Workspace(root=tmp_path / "ws", source="option"), "claude-code", tmp_path / "p",
                           workers=1)
    totals = json.loads(json.dumps(s.to_json()))["totals"]
    assert set(totals) == IMPORT_TOTAL_KEYS and totals["turns"] > 0  # no cost for transcripts
