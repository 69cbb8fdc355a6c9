"""A dream's stored state (state/dream/<playbook>/aggregates.json) written by an older release, or redacted under
other rules, may hold secrets in forms no redaction rule recognises: a key lower-cased among a correction's word
stems, a template masked before it was redacted. Redacting such a file as it was loaded let those through. The
dream loads none of its texts: it rebuilds the state from the sessions, once, as `dreamcli dream --all` does, and
keeps only what no session text made (entry use, what was proposed under a key the rebuild makes again, or under
ids). A kill during the rebuild leaves the old file (rebuilt again next time) or the new one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from dreamcli.audit import append_audit
from dreamcli.cli.app import app
from dreamcli.dream.watermark import redaction_stamp
from dreamcli.words import stems
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession

pytestmark = pytest.mark.usefixtures("no_model")

_letters = random.Random(7)
ANTHROPIC = "sk-ant-api03-" + "".join(_letters.choice(string.ascii_letters) for _ in range(90))
AWS = "AKIAQWERTYUIOPASDFGH"
MARKERS = {"[REDACTED:anthropic]": ANTHROPIC, "[REDACTED:aws_access_key]": AWS}
SECRETS = (ANTHROPIC, AWS, AWS.lower(), ANTHROPIC[13:40], ANTHROPIC[13:40].lower())
# what a session log holds (the session writer redacts what it logs)
ERROR = ("deploy failed: the API rejected key [REDACTED:anthropic] (account [REDACTED:aws_access_key]); "
         "run `deploy --refresh-credentials` first")
SAID = "No, use the staging key [REDACTED:aws_access_key] instead of the production one, always"
HELD = "error|bash:pytest|ModuleNotFoundError: No module named <q>"  # no secret: the rebuild makes it again
NOTICE = "warning: dream state from an older release: rebuilt from the sessions (once)"


def _session(ws: Workspace, hour: int) -> str:
    s = RawSession(ws, hour, task="deploy")
    s.call("bash", {"command": "deploy --prod"}, ERROR, error=True)
    s.call("bash", {"command": "deploy --refresh-credentials && deploy --prod"}, "deployed",
           said="The credentials had expired; refreshing them fixes the deploy.")
    s.user(SAID)
    s.call("bash", {"command": "pytest"}, "ModuleNotFoundError: No module named 'yaml'", error=True)
    s.call("bash", {"command": "pip install pyyaml && pytest"}, "3 passed")
    s.say("Deployed.")
    return s.end()


def _dream(ws: Workspace, *args: str) -> Result:
    r = CliRunner().invoke(app, ["--home", str(ws.root), "dream", "--offline", "--json", *args],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def _state(ws: Workspace, name: str = "aggregates.json") -> Path:
    return ws.state_dir / "dream" / "default" / name


def _unredact(data: Any) -> Any:
    """`data` with every marker the scan left put back to the secret: texts an older dream kept unredacted."""
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
    without evidence or next steps."""
    data = {k: v for k, v in data.items() if k != "other_scopes"}
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


def _old_state(ws: Workspace, *, older: bool = False) -> str:
    """A first session dreamed (support 1: nothing proposed), its state rewritten as an older release left it:
    no stamp, texts unredacted, the correction keyed by the stems of its unredacted words (the key lower-cased),
    and what earlier dreams proposed and counted."""
    first = _session(ws, 0)
    _dream(ws)
    data = json.loads(_state(ws).read_text())
    del data["redaction"]
    data = _unredact(_older_format(data) if older else data)
    old_key = "correction|" + " ".join(sorted(stems(_unredact(SAID))))
    assert AWS.lower() in old_key
    (correction,) = [p for p in data["patterns"] if p["kind"] == "correction"]
    correction["key"] = old_key
    assert HELD in {p["key"] for p in data["patterns"]}
    data["proposed"] = {old_key: {"entry_id": "pb-said0001", "dream_id": first, "support": 1},
                        HELD: {"entry_id": "pb-yaml0001", "dream_id": first, "support": 10},
                        "stale|pb-gone0001": {"entry_id": "pb-gone0001", "dream_id": first, "support": 3}}
    data["entry_use"] = {"pb-used0001": {"helpful": [first], "harmful": [], "new_helpful": [], "new_harmful": []}}
    _state(ws).write_text(json.dumps(data))
    # HELD's entry was rejected: on record in the audit trail, which outlives its dream's folder (a candidate
    # whose dream is gone and was never decided is proposed again: test_pruned_dream_folder)
    append_audit(ws, "reject", actor="test", dream_id=first, playbook="default", entry_ids=["pb-yaml0001"])
    assert _files_holding(ws.root, AWS.lower()) == ["state/dream/default/aggregates.json: " + AWS.lower()[:16]]
    return first


def _patterns(ws: Workspace) -> list[dict[str, Any]]:
    return sorted(json.loads(_state(ws).read_text())["patterns"], key=lambda p: p["key"])


def _fresh_all(ws: Workspace, root: Path) -> list[dict[str, Any]]:
    """The patterns of a fresh `dreamcli dream --all` over the same sessions, in a workspace of its own."""
    fresh = Workspace(root=root, source="option").ensure_layout()
    shutil.rmtree(fresh.sessions_dir)
    shutil.copytree(ws.sessions_dir, fresh.sessions_dir)
    _dream(fresh, "--all")
    return _patterns(fresh)


@pytest.mark.parametrize("older", [False, True], ids=["current-format", "older-format"])
def test_an_older_state_is_rebuilt_from_the_sessions(ws: Workspace, tmp_path: Path, older: bool) -> None:
    first = _old_state(ws, older=older)
    second = _session(ws, 1)

    r = _dream(ws)

    assert _files_holding(ws.root, *SECRETS) == []  # state/dream/, dreams/, the log: nowhere
    result = json.loads(r.stdout)
    assert not any(s in r.output for s in SECRETS)
    assert r.stderr.splitlines() == [NOTICE] and result["state_rebuilt"] == "from an older release"
    state = json.loads(_state(ws).read_text())
    assert state["redaction"] == redaction_stamp(())
    assert _patterns(ws) == _fresh_all(ws, tmp_path / "fresh")
    (op,) = [op for op in result["operations"] if "deploy --prod" in (op.get("text") or "")]
    assert set(op["metadata"]["sources"]) == {first, second}  # the old session's support, read again
    # what no session text made is kept; a proposal under a key the rebuild makes again too (still on hold)
    assert state["entry_use"]["pb-used0001"]["helpful"] == [first]
    assert state["proposed"]["stale|pb-gone0001"]["entry_id"] == "pb-gone0001"
    assert state["proposed"][HELD]["support"] == 10
    assert not any("yaml" in (op.get("text") or "") for op in result["operations"])
    assert any(op["kind"] == "correction" for op in result["operations"])  # its old record held a secret: gone

    _session(ws, 2)
    again = _dream(ws)
    assert again.stderr == "" and json.loads(again.stdout)["state_rebuilt"] is None  # once


def test_a_pattern_added_to_config_has_the_state_rebuilt(ws: Workspace, tmp_path: Path) -> None:
    """Another stamp: redacting the stored texts with the new pattern missed it lower-cased in a key."""
    _session(ws, 0)
    _dream(ws)
    data = json.loads(_state(ws).read_text())  # stamped by this dream, with no pattern in config
    (correction,) = [p for p in data["patterns"] if p["kind"] == "correction"]
    correction["key"] += " acme-20261187"
    correction["evidence"][0]["excerpt"] += " ticket ACME-20261187"
    _state(ws).write_text(json.dumps(data))
    ws.config_path.write_text('redaction:\n  patterns: ["ACME-[0-9]{8}"]\n')
    _session(ws, 1)

    r = _dream(ws)

    assert _files_holding(ws.root, "ACME-2026", "acme-2026") == []
    assert r.stderr.splitlines() == ["warning: dream state redacted under other rules: rebuilt from the sessions "
                                     "(once)"]
    assert json.loads(_state(ws).read_text())["redaction"] == redaction_stamp(("ACME-[0-9]{8}",))


def test_an_explicit_dream_sets_an_older_state_aside_for_the_next_dream(ws: Workspace) -> None:
    first = _old_state(ws)
    second = _session(ws, 1)

    r = _dream(ws, "--session", second)

    assert r.stderr.splitlines() == ["warning: dream state from an older release: set aside; the next "
                                     f"`dreamcli --home {ws.root} dream` rebuilds it from the sessions (once)"]
    assert _files_holding(ws.root, *SECRETS) == []
    state = json.loads(_state(ws).read_text())
    # still without a stamp: the held records are checked by the next dream's rebuild (test_older_state_selection)
    assert "redaction" not in state and state["patterns"] == []
    assert state["entry_use"]["pb-used0001"]["helpful"] == [first]
    assert json.loads(_state(ws, "watermark.json").read_text())["last_session_id"] is None

    rebuilt = _dream(ws)  # reads every session again, into empty patterns
    result = json.loads(rebuilt.stdout)
    assert result["inputs"]["sessions"] == 2 and rebuilt.stderr.splitlines() == [NOTICE]
    (op,) = [op for op in result["operations"] if "deploy --prod" in (op.get("text") or "")]
    assert set(op["metadata"]["sources"]) == {first, second} and "2 of 2" in op["text"]
    assert _files_holding(ws.root, *SECRETS) == []


def test_loading_an_older_state_reads_none_of_its_texts(ws: Workspace) -> None:
    from dreamcli.dream.older_state import OLDER
    from dreamcli.dream.watermark import load_aggregates

    _old_state(ws)

    agg = load_aggregates(ws, "default", problems := [])

    assert problems == [] and agg.rebuild == OLDER
    assert agg.patterns == {} and agg.episodes == {} and agg.parents == {} and agg.memory_touch == {}
    assert set(agg.proposed) == {"stale|pb-gone0001"} and HELD in agg.unverified
    assert not any(s in json.dumps(agg.to_json()) for s in SECRETS)


def _killed_dream(ws: Workspace, step: str) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "DREAMCLI_HOME")}
    r = subprocess.run([sys.executable, "-m", "dreamcli", "--home", str(ws.root), "dream", "--offline"],
                       env={**env, "DREAMCLI_CRASH_AT": step}, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == -9, r.stderr


@pytest.mark.parametrize("step", ["dream.intent", "dream.written", "dream.state"])
def test_a_rebuild_killed_leaves_the_old_state_or_the_new_one(ws: Workspace, step: str) -> None:
    _old_state(ws)
    _session(ws, 1)
    old = _state(ws).read_bytes()

    _killed_dream(ws, step)

    after = _state(ws).read_bytes()
    assert after == old or json.loads(after)["redaction"] == redaction_stamp(())
    if step == "dream.intent":  # before the proposal is in place: the old file, rebuilt by the next dream
        assert after == old
        assert _dream(ws).stderr.splitlines() == [NOTICE]
    else:  # after: the next command installs the rebuilt state, if the dream had not yet
        assert _dream(ws).stderr == ""
    assert json.loads(_state(ws).read_text())["redaction"] == redaction_stamp(())
    assert _files_holding(ws.root, *SECRETS) == []


def test_an_explicit_dream_over_an_unreadable_state_leaves_the_rebuild_to_the_next(ws: Workspace) -> None:
    """A selection cannot rebuild what it set aside: without a reset watermark, the next dream would read
    only newer sessions, and the patterns of every older one would be gone for good."""
    first = _session(ws, 0)
    _dream(ws)
    assert json.loads(_state(ws, "watermark.json").read_text())["last_session_id"] == first
    _state(ws).write_text("{not json")
    second = _session(ws, 1)

    _dream(ws, "--session", second)

    assert json.loads(_state(ws, "watermark.json").read_text())["last_session_id"] is None
    result = json.loads(_dream(ws).stdout)
    assert result["inputs"]["sessions"] == 2
    (op,) = [op for op in result["operations"] if "deploy --prod" in (op.get("text") or "")]
    assert set(op["metadata"]["sources"]) == {first, second}


def test_a_dream_over_an_unreadable_state_reads_every_session_again(ws: Workspace) -> None:
    first = _session(ws, 0)
    _dream(ws)
    _state(ws).write_text("{not json")
    second = _session(ws, 1)

    r = _dream(ws)

    assert r.stderr.splitlines() == ["warning: dream state set aside (aggregates.json: cannot be read (not valid "
                                     "JSON)): every session was read again"]
    result = json.loads(r.stdout)
    assert result["inputs"]["sessions"] == 2
    (op,) = [op for op in result["operations"] if "deploy --prod" in (op.get("text") or "")]
    assert set(op["metadata"]["sources"]) == {first, second}


@pytest.mark.parametrize("selection", [False, True], ids=["plain", "selection"])
def test_a_deleted_state_with_its_watermark_kept_reads_every_session_again(ws: Workspace, selection: bool) -> None:
    """Not "no dream yet": the watermark would have the dream read only newer sessions into empty patterns."""
    first = _session(ws, 0)
    _dream(ws)
    _state(ws).unlink()
    second = _session(ws, 1)

    r = _dream(ws, *(("--session", second) if selection else ()))

    assert r.stderr.splitlines() == ["warning: dream state set aside (aggregates.json: missing, while the watermark "
                                     "says 1 session was dreamed): every session was read again"]
    if selection:  # the next plain dream reads them all
        assert json.loads(_state(ws, "watermark.json").read_text())["last_session_id"] is None
        r = _dream(ws)
        assert r.stderr == ""
    result = json.loads(r.stdout)
    assert result["inputs"]["sessions"] == 2
    (op,) = [op for op in result["operations"] if "deploy --prod" in (op.get("text") or "")]
    assert set(op["metadata"]["sources"]) == {first, second}
