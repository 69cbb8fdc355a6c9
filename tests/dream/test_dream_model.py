"""`dreamcli dream` with a model (the fake Anthropic server): edit operations validated, JSON in
text accepted, one repair then templates, calls per batch of candidates, compact redacted evidence,
prompt caching on Anthropic endpoints, API failures exit 3 with nothing written."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.config import Config, DreamConfig, LimitsConfig, RedactionConfig
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.proposal import read_proposal
from dreamcli.sessions.samples import install_samples
from dreamcli.testing import FakeAnthropic, RecordedRequest, error_reply, text_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace

CONFIG = Config(limits=LimitsConfig(model_retries=0))


def _ws(tmp_path: Path) -> Workspace:
    ws = Workspace(root=tmp_path / "ws", source="option").ensure_layout()
    install_samples(ws)
    return ws


def _candidates(req: RecordedRequest) -> list[str]:
    first = req.messages[0]["content"]  # the evidence packs (a repair adds turns after it)
    return re.findall(r"^\[(c\d+)\]", first if isinstance(first, str) else json.dumps(first), re.M)


def adds_all(req: RecordedRequest) -> Any:
    ops = [{"op": "add", "candidate": cid, "text": f"Model says: lesson {cid}.", "reason": "recurs"}
           for cid in _candidates(req)]
    return tool_reply(tool_use("propose_edits", {"operations": ops}))


def test_model_writes_the_entries_and_calls_grow_with_candidates(tmp_path: Path,
                                                                 fake_anthropic: FakeAnthropic) -> None:
    ws = _ws(tmp_path)
    fake_anthropic.responder = adds_all
    result = run_dream(ws, CONFIG, DreamOptions(instructions="Focus on file types."))
    fresh = result.dream["stats"]["fresh_candidates"]
    assert len(fake_anthropic.requests) == math.ceil(fresh / 8) == result.dream["usage"]["model_calls"]
    adds = [o for o in result.operations if o.op == "add"]
    assert len(adds) == fresh and all(o.text.startswith("Model says") for o in adds)
    assert all(o.evidence and o.support.sessions >= 2 for o in adds)  # evidence is ours, not the model's
    assert result.dream["offline"] is False and result.dream["instructions"] == "Focus on file types."
    first = fake_anthropic.requests[0]
    assert "Focus on file types." in first.system_text and "Current playbook entries" in first.system_text
    assert first.body["tool_choice"] == {"type": "tool", "name": "propose_edits"}
    assert "cache_control" not in json.dumps(first.body["system"])  # not an Anthropic endpoint
    sent = sum(len(json.dumps(r.body)) for r in fake_anthropic.requests)
    session_bytes = sum(p.stat().st_size for p in ws.sessions_dir.rglob("*.jsonl"))
    assert sent < 0.10 * session_bytes  # compact evidence, never transcripts
    usage = result.dream["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0


def test_json_in_text_is_accepted(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    ws = _ws(tmp_path)

    def answer(req: RecordedRequest) -> Any:
        ops = [{"op": "add", "candidate": c, "text": f"From JSON {c}.", "reason": "r"} for c in _candidates(req)[:2]]
        return text_reply("Here you go:\n```json\n" + json.dumps({"operations": ops}) + "\n```")

    fake_anthropic.responder = answer
    result = run_dream(ws, CONFIG, DreamOptions())
    texts = [o.text for o in result.operations if o.op == "add"]
    assert texts and all(t.startswith("From JSON") for t in texts)
    assert "the model did not propose it" in result.report


def test_invalid_answer_is_repaired_once_then_falls_back(tmp_path: Path, fake_anthropic: FakeAnthropic,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dreamcli.dream.synthesis.BATCH_SIZE", 4)  # two batches
    ws = _ws(tmp_path)
    bad = tool_reply(tool_use("propose_edits", {"operations": [{"op": "add", "candidate": "c99", "text": "x",
                                                                "reason": "r"}]}))
    calls: list[RecordedRequest] = []

    def answer(req: RecordedRequest) -> Any:
        calls.append(req)
        if len(calls) == 2:  # the repair of the first batch works
            return adds_all(req)
        return bad if len(calls) < 5 else text_reply("no idea")

    fake_anthropic.responder = answer
    result = run_dream(ws, CONFIG.model_copy(update={"dream": DreamConfig(max_candidates=8)}), DreamOptions())
    assert result.dream["stats"]["fresh_candidates"] == 8
    repair = calls[1].body["messages"]
    assert [m["role"] for m in repair] == ["user", "assistant", "user"]
    assert repair[2]["content"][0]["type"] == "tool_result" and repair[2]["content"][0]["is_error"] is True
    assert "c99" in repair[2]["content"][0]["content"]
    assert result.dream["stats"]["model_fallbacks"] == 1  # second batch: invalid twice -> templates
    texts = [o.text for o in result.operations if o.op == "add"]
    assert any(t.startswith("Model says") for t in texts) and any(not t.startswith("Model says") for t in texts)
    assert result.dream["usage"]["model_calls"] == 4


def test_updates_and_retires_existing_entries(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    from tests.support.playbooks import write_playbook

    ws = _ws(tmp_path)
    write_playbook(ws, "default", [("pb-aaaaaa01", "Tools", "Convert docx files before reading them."),
                                   ("pb-aaaaaa02", "Misc", "Always answer in French.")], version=2)

    def answer(req: RecordedRequest) -> Any:
        assert "[pb-aaaaaa01]" in req.system_text
        c = _candidates(req)[0]
        ops = [{"op": "update", "entry_id": "pb-aaaaaa01", "candidate": c, "text": "Convert .docx with unzip.",
                "reason": "refined"},
               {"op": "retire", "entry_id": "pb-aaaaaa02", "reason": "users never asked for it"}]
        return tool_reply(tool_use("propose_edits", {"operations": ops}))

    fake_anthropic.responder = answer
    result = run_dream(ws, CONFIG, DreamOptions(max_candidates=5))
    by_id = {o.entry_id: o for o in result.operations if o.target == "playbook"}
    assert by_id["pb-aaaaaa01"].op == "update" and by_id["pb-aaaaaa01"].old_text.startswith("Convert docx")
    assert by_id["pb-aaaaaa01"].evidence
    assert by_id["pb-aaaaaa02"].op == "retire" and by_id["pb-aaaaaa02"].text is None
    assert read_proposal(ws, result.dream_id)["base_version"] == 2


def test_secrets_never_reach_the_model_and_anthropic_endpoints_cache(tmp_path: Path, fake_anthropic: FakeAnthropic,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from dreamcli.sessions.writer import SessionWriter

    ws = _ws(tmp_path)
    for n in range(3):
        w = SessionWriter(ws)
        w.start(task={"name": "billing", "prompt": "p"}, model=None, workdir=None)
        w.message("user", [{"type": "text", "text": "go"}])
        w.message("assistant", [{"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "acme-cli pay"}}])
        w.message("user", [{"type": "tool_result", "tool_use_id": "t1", "is_error": True,
                            "content": f"account ACME-1234567{n} locked"}])
        w.end("completed")
    monkeypatch.setattr("dreamcli.modelclient.is_anthropic_endpoint", lambda: True)
    fake_anthropic.responder = adds_all
    config = CONFIG.model_copy(update={"redaction": RedactionConfig(patterns=["ACME-[0-9]{8}"])})
    run_dream(ws, config, DreamOptions())
    bodies = [json.dumps(r.body) for r in fake_anthropic.requests]
    assert bodies and not any("ACME-1234567" in b for b in bodies)
    assert all(r.body["system"][-1]["cache_control"] == {"type": "ephemeral"} for r in fake_anthropic.requests)
    assert len({json.dumps(r.body["system"]) for r in fake_anthropic.requests}) == 1  # one stable prefix


def test_api_failure_exits_3_and_writes_nothing(tmp_path: Path, fake_anthropic: FakeAnthropic) -> None:
    ws = _ws(tmp_path)
    (ws.root / "config.yaml").write_text("limits:\n  model_retries: 0\n")
    fake_anthropic.expect(error_reply(500, message="boom"))
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream"])
    assert r.exit_code == 3 and "dreamer" in r.stderr
    assert not list(ws.dreams_dir.iterdir()) and not (ws.state_dir / "dream").exists()
    off = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline", "--json"])
    assert off.exit_code == 0 and json.loads(off.stdout)["status"] == "pending"


def test_a_dream_that_needed_no_model_call_says_so_in_its_report(tmp_path: Path,
                                                                 fake_anthropic: FakeAnthropic) -> None:
    """Once every entry is approved, a dream over the same sessions proposes their counts only: no model call, and
    report.md said "dreamed with model `None`"."""
    from dreamcli.playbooks.approval import approve

    ws = _ws(tmp_path)
    fake_anthropic.responder = adds_all
    first = run_dream(ws, CONFIG, DreamOptions())
    assert first.dream_id and first.dream["usage"]["model"]
    approve(ws, first.dream_id, all_=True, include_tainted=True)
    calls = len(fake_anthropic.requests)
    again = run_dream(ws, CONFIG, DreamOptions(all=True))
    assert again.path and len(fake_anthropic.requests) == calls and again.dream["offline"] is False
    assert {o.op for o in again.operations} == {"counts"}
    report = (again.path / "report.md").read_text()
    assert "with no model call (nothing needed one)" in report and "None" not in report.split("\n\n", 2)[1]
