"""A dream's stored state (state/dream/<playbook>/aggregates.json) written before the dream redacted what it
keeps (or by one that redacted after cutting) holds secrets: error texts, evidence excerpts, examples. The
next dream redacts such a file when it loads it (no `redaction` stamp, or one for other rules or
`redaction.patterns`), so no secret reaches anything it writes, the state it writes back included, and the
old patterns still count: an old key holding the secret is the key the scan now makes of the redacted text.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import pytest

from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession, dream

pytestmark = pytest.mark.usefixtures("no_model")

_letters = random.Random(7)
ANTHROPIC = "sk-ant-api03-" + "".join(_letters.choice(string.ascii_letters) for _ in range(90))
AWS = "AKIAQWERTYUIOPASDFGH"
MARKERS = {"[REDACTED:anthropic]": ANTHROPIC, "[REDACTED:aws_access_key]": AWS}
# what a session log holds of the error (the session writer redacts what it logs)
ERROR = ("deploy failed: the API rejected key [REDACTED:anthropic] (account [REDACTED:aws_access_key]); "
         "run `deploy --refresh-credentials` first")


def _session(ws: Workspace, hour: int) -> str:
    s = RawSession(ws, hour, task="deploy")
    s.call("bash", {"command": "deploy --prod"}, ERROR, error=True)
    s.call("bash", {"command": "deploy --refresh-credentials && deploy --prod"}, "deployed",
           said="The credentials had expired; refreshing them fixes the deploy.")
    s.say("Deployed.")
    return s.end()


def _state(ws: Workspace) -> Path:
    return ws.state_dir / "dream" / "default" / "aggregates.json"


def _unredact(data: Any) -> Any:
    """`data` with every marker the scan left put back to the secret: a state from before the fix."""
    if isinstance(data, str):
        for marker, secret in MARKERS.items():
            data = data.replace(marker, secret)
        return data
    if isinstance(data, list):
        return [_unredact(v) for v in data]
    if isinstance(data, dict):
        return {_unredact(k): _unredact(v) for k, v in data.items()}
    return data


def _older_format(data: dict[str, Any]) -> dict[str, Any]:
    """The layout of an earlier release: cost records without is_root, no provenance counts, recoveries
    without evidence or next steps, no stamp."""
    data = {k: v for k, v in data.items() if k not in ("other_scopes", "redaction")}
    data["episodes"] = {ep: rec[:5] for ep, rec in data["episodes"].items()}
    for p in data["patterns"]:
        p.pop("clean", None)
        p.pop("taint", None)
        for rec in p["recoveries"].values():
            rec.pop("evidence", None)
            rec.pop("then", None)
    return data


def _files_holding(root: Path, *secrets: str) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path.relative_to(root)}: {s[:16]}" for s in secrets if s.encode() in data]
    return found


def _old_state(ws: Workspace, older: bool) -> str:
    """A first session dreamed (support 1: nothing proposed), its state rewritten as an older dream left it."""
    first = _session(ws, 0)
    assert dream(ws)["operations"] == []
    data = json.loads(_state(ws).read_text())
    assert "[REDACTED:anthropic]" in json.dumps(data)  # in the key, the template, the excerpts
    data = _unredact(_older_format(data) if older else {k: v for k, v in data.items() if k != "redaction"})
    _state(ws).write_text(json.dumps(data))
    assert _files_holding(ws.root, ANTHROPIC, AWS) == ["state/dream/default/aggregates.json: " + ANTHROPIC[:16],
                                                      "state/dream/default/aggregates.json: " + AWS[:16]]
    return first


@pytest.mark.parametrize("older", [False, True], ids=["current-format", "older-format"])
def test_no_secret_of_an_old_state_reaches_any_file_and_its_support_still_counts(ws: Workspace, older: bool) -> None:
    first = _old_state(ws, older)
    second = _session(ws, 1)

    result = dream(ws)

    assert _files_holding(ws.root, ANTHROPIC, AWS, ANTHROPIC[13:40]) == []
    assert ANTHROPIC[13:40] not in json.dumps(result) and AWS not in json.dumps(result)  # nor what it printed
    (op,) = [op for op in result["operations"] if "deploy --prod" in (op.get("text") or "")]
    assert set(op["metadata"]["sources"]) == {first, second}  # the old session's support counted
    assert "2 of 2" in op["text"]
    state = _state(ws).read_text()
    assert "[REDACTED:anthropic]" in state and '"redaction":' in state


def test_a_pattern_added_to_config_redacts_a_state_written_before_it(ws: Workspace) -> None:
    _session(ws, 0)
    dream(ws)
    data = json.loads(_state(ws).read_text())  # stamped by this dream, with no pattern in config
    data["patterns"][0]["evidence"][0]["excerpt"] += " ticket ACME-20261187"
    _state(ws).write_text(json.dumps(data))
    ws.config_path.write_text('redaction:\n  patterns: ["ACME-[0-9]{8}"]\n')
    _session(ws, 1)

    dream(ws)

    assert _files_holding(ws.root, "ACME-2026") == []
    assert "ticket [REDACTED:custom]" in _state(ws).read_text()


def _key(n: int) -> str:
    rnd = random.Random(n)
    return "sk-ant-api03-" + "".join(rnd.choice(string.ascii_letters) for _ in range(90))


def _old_pattern(episode: str, secret: str) -> dict[str, Any]:
    message = f"auth failed for key {secret}"
    return {"kind": "error", "key": f"error|bash:deploy|{message}", "label": "bash:deploy", "template": message,
            "episodes": [episode], "sessions": [episode], "occurrences": 1,
            "evidence": [{"session_id": episode, "seq": 3, "excerpt": f"deploy -> {message}"}],
            "examples": {f"deploy --key {secret}": 1},
            "recoveries": {f"bash:deploy|deploy --key {secret} --refresh": {
                "label": "bash:deploy", "example": f"deploy --key {secret} --refresh", "episodes": [episode],
                "why": f"the key {secret} had expired"}}}


def test_patterns_that_differed_only_in_a_secret_are_one_pattern_once_loaded(ws: Workspace) -> None:
    from dreamcli.dream.watermark import load_aggregates, save_aggregates

    a, b = "01M3250V000HEKC5KFJWVV96X0", "01M3251V000HEKC5KFJWVV96X1"
    old = {"v": 1, "sessions_seen": 2, "patterns": [_old_pattern(a, _key(1)), _old_pattern(b, _key(2))],
           "episodes": {a: ["deploy", 0.1, 3, 0, f"deploy --key {_key(1)}"], b: ["deploy", 0.1, 3, 0, None]},
           "proposed": {f"error|bash:deploy|auth failed for key {_key(1)}": {"entry_id": "pb-1", "support": 1}},
           "memory_touch": {f"/memories/{_key(2)}.md": "2026-09-01T00:00:00Z"}}
    _state(ws).parent.mkdir(parents=True)
    _state(ws).write_text(json.dumps(old))

    agg = load_aggregates(ws, "default", problems := [])

    assert problems == []
    (p,) = agg.patterns.values()
    assert p.key == "error|bash:deploy|auth failed for key [REDACTED:anthropic]" and p.key in agg.proposed
    assert (p.support, p.occurrences, len(p.evidence)) == (2, 2, 2)
    assert p.examples == {"deploy --key [REDACTED:anthropic]": 2}
    (rec,) = p.recoveries.values()
    assert rec.episodes == {a, b} and rec.why == "the key [REDACTED:anthropic] had expired"
    assert "sk-ant-" not in json.dumps(agg.to_json())
    save_aggregates(ws, "default", agg)
    assert "sk-ant-" not in _state(ws).read_text()
    assert load_aggregates(ws, "default").to_json() == agg.to_json()  # stamped: read as it is
