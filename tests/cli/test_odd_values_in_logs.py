"""Values a session log may hold past the reader's type checks (a log is untrusted: imported, written by
hand or by another tool): markup in a status, a number where text belongs, NaN, integers past 64 bits.
Each broke a command with an internal error (found by fuzzing the CLI over such logs); now each
command prints them as they are, or as no value where no number can hold them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from typer.testing import CliRunner

from dreamcli.cli.app import app

pytestmark = pytest.mark.usefixtures("no_model")
SID = "01K0000000000000000000000A"
TS = "2026-10-01T10:00:00.000Z"
HUGE = 10**30


def line(etype: str, seq: int, **fields: Any) -> str:
    return json.dumps({"v": 1, "type": etype, "ts": TS, "session_id": SID, "seq": seq, **fields})


def odd_session() -> str:
    lines = [
        line("session.start", 0, task={"name": "t", "prompt": "p"}, model="[/]m", source="dreamcli", tags=[]),
        line("message", 1, role="assistant", content=[{"type": "text", "text": 1.5},
                                                      {"type": "tool_use", "id": "tu1", "name": "[/]", "input": 7}],
             usage={"input_tokens": HUGE, "output_tokens": 1}, cost_usd=10**400),
        line("tool", 2, tool_use_id="tu1", name="bash", duration_ms=10**400, exit_code=HUGE, error_kind="[/red]",
             truncated=False),
        line("message", 3, role="user", content=[{"type": "tool_result", "tool_use_id": "tu1", "is_error": True,
                                                  "content": 404}]),
        line("outcome.evaluation", 4, outcome="[/]", iteration=HUGE, result="[bold]x[/]", score=2.5, criteria=[]),
        line("subagent", 5, event="[/]", child_session_id="[/]", brief=None, status="[/]"),
        line("message", 6, role="assistant", content="x", latency_ms=float("nan")),  # json writes NaN
        line("session.end", 7, status="[/]", totals={"turns": 1e300 * 10, "input_tokens": None, "cost_usd": 10**400},
             outcome={"result": "[/]", "score": "high"}),
    ]
    return "\n".join(lines).replace("Infinity", "1e999") + "\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "ws"
    assert CliRunner().invoke(app, ["--home", str(home), "init"]).exit_code == 0
    day = home / "sessions" / "2026" / "10" / "01"
    day.mkdir(parents=True)
    (day / f"{SID}.jsonl").write_text(odd_session())
    return home


@pytest.mark.parametrize("args", [
    ["sessions", "list"], ["sessions", "list", "--json"], ["sessions", "show", SID],
    ["sessions", "show", SID, "--json"], ["sessions", "show", SID, "--html", "{home}/s.html"],
    ["grade", SID, "--checks-only", "--outcome", "{repo}/sample_outcomes/contract-review.yaml", "--json"],
    ["export", "sessions", "{home}/pq", "--format", "parquet"],
    ["dream", "--offline", "--all"],
])
def test_every_command_reads_an_odd_log_without_an_internal_error(home: Path, args: list[str]) -> None:
    if args[-1] == "parquet":
        pytest.importorskip("pyarrow")
    repo = Path(__file__).resolve().parents[2]
    r = CliRunner().invoke(app, ["--home", str(home), *(a.format(home=home, repo=repo) for a in args)])
    assert "internal error" not in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    assert r.exit_code in (0, 1), r.output
    if "--json" in args:
        json.loads(r.stdout)  # strict JSON: no NaN


def test_markup_in_a_log_is_printed_as_it_is(home: Path) -> None:
    r = CliRunner().invoke(app, ["--home", str(home), "sessions", "show", SID])
    assert r.exit_code == 0, r.output
    assert "[bold]x[/]" in r.stdout and "→ [/]" in r.stdout and "✗ error 404" in r.stdout


_ANY = hs.recursive(hs.none() | hs.booleans() | hs.integers() | hs.floats() | hs.text(alphabet="[]/ab"),
                    lambda inner: hs.lists(inner, max_size=3) | hs.dictionaries(hs.sampled_from(
                        ["type", "text", "content", "name", "id", "input", "is_error"]), inner, max_size=4),
                    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(hs.sampled_from(["session.start", "message", "tool", "outcome.evaluation", "subagent", "session.end"]),
       hs.dictionaries(hs.sampled_from(["task", "model", "role", "content", "name", "result", "outcome", "status",
                                        "event", "child_session_id", "totals", "brief", "error", "playbooks",
                                        "explanation", "iteration", "score", "duration_ms"]), _ANY, max_size=5))
def test_the_transcript_renders_any_event_the_reader_takes(etype: str, fields: dict[str, Any]) -> None:
    from dreamcli.sessions.reader import ReadStats, parse_line
    from dreamcli.ui.sessions_view import render_transcript

    event = parse_line(line(etype, 1, **fields).encode())
    if event is not None:
        render_transcript([event], ReadStats(), [], [])
