"""Costs no float holds (a 400-digit integer, `1e400`, NaN) in a session log: JSON allows them, and a
dream or a grade that read one crashed with OverflowError. They now count as no cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.signals import scan_stream
from dreamcli.numbers import finite
from dreamcli.outcomes.evidence import load_run
from dreamcli.sessions.reader import ReadStats

HUGE = "1" + "0" * 400
START = ('{"v":1,"type":"session.start","ts":"2026-10-01T10:00:00.000Z","session_id":"S","seq":0,'
         '"task":{"name":"t","prompt":"p"}}')


def log(*, message_cost: str, total_cost: str) -> list[bytes]:
    lines = [START,
             '{"v":1,"type":"message","ts":"2026-10-01T10:00:01.000Z","session_id":"S","seq":1,"role":"assistant",'
             f'"content":"done","cost_usd":{message_cost}}}',
             '{"v":1,"type":"session.end","ts":"2026-10-01T10:00:02.000Z","session_id":"S","seq":2,'
             f'"status":"completed","totals":{{"cost_usd":{total_cost}}}}}']
    return [line.encode() + b"\n" for line in lines]


@pytest.mark.parametrize("bad", [HUGE, "-" + HUGE, "1e400", "NaN", "Infinity"])
def test_a_dream_reads_a_cost_no_float_holds_as_none(bad: str) -> None:
    agg = Aggregates()
    info = scan_stream(log(message_cost=bad, total_cost="0.25"), agg, playbook="default", stats=ReadStats())
    assert info is not None and agg.episodes["S"][1] == 0.25  # the session's total stands
    agg = Aggregates()
    scan_stream(log(message_cost="0.5", total_cost=bad), agg, playbook="default", stats=ReadStats())
    assert agg.episodes["S"][1] == 0.5  # the end's total is ignored: the messages' cost stands


@pytest.mark.parametrize("bad", [HUGE, "1e400", "NaN"])
def test_a_grade_reads_the_counted_cost_when_the_total_is_no_number(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"".join(log(message_cost="0.5", total_cost=bad)))
    assert load_run(path).cost_usd == 0.5
    path.write_bytes(b"".join(log(message_cost=bad, total_cost=bad)))
    assert load_run(path).cost_usd == 0.0


def test_finite() -> None:
    assert [finite(v) for v in (1, 0.5, True, "1", None, float("nan"), float("inf"), 10**400)] == [
        1.0, 0.5, None, None, None, None, None, None]


def test_sessions_list_shows_no_cost_for_one_no_index_holds(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    home = tmp_path / "ws"
    assert CliRunner().invoke(app, ["--home", str(home), "init"]).exit_code == 0
    sid = "01K0000000000000000000000A"
    day = home / "sessions" / "2026" / "10" / "01"
    day.mkdir(parents=True)
    lines = log(message_cost=HUGE, total_cost=HUGE)
    lines[-1] = lines[-1].replace(b'"totals":{', b'"totals":{"input_tokens":' + HUGE.encode() + b",")
    (day / f"{sid}.jsonl").write_bytes(b"".join(lines).replace(b'"S"', f'"{sid}"'.encode()))
    r = CliRunner().invoke(app, ["--home", str(home), "sessions", "list", "--json"])
    assert r.exit_code == 0, r.output  # was: internal error: OverflowError (SQLite INTEGER)
    row = json.loads(r.stdout)["sessions"][0]
    assert (row["session_id"], row["cost_usd"], row["input_tokens"]) == (sid, None, None)
    r = CliRunner().invoke(app, ["--home", str(home), "sessions", "list"])
    assert r.exit_code == 0 and sid in r.stdout


def test_a_grade_counts_turns_itself_when_the_total_is_no_number(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    for bad in ("1e999", "NaN"):
        lines = log(message_cost="0.5", total_cost="0.5")
        lines[-1] = lines[-1].replace(b'"totals":{', f'"totals":{{"turns":{bad},"tool_calls":{bad},'.encode())
        path.write_bytes(b"".join(lines))
        run = load_run(path)  # was: OverflowError / ValueError converting to int
        assert (run.turns, run.tool_calls) == (1, 0)
