"""A selection (`--session`, `--since`, `--task`) over a dream state whose texts are not trusted (an older
release's, or redacted under other rules) reads only part of the sessions: it cannot tell which of the old
file's text-keyed proposed records a whole scan would make again. It carried none of those it did not make
itself and stamped the file as trusted, so the next plain dream proposed a held or rejected candidate again.
It now keeps them, as digests, in a file that stays untrusted: the next plain dream rebuilds and checks them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dreamcli.dream.watermark import redaction_stamp
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession
from tests.dream.test_older_state_rebuilt import (
    HELD,
    NOTICE,
    SECRETS,
    _dream,
    _files_holding,
    _old_state,
    _session,
    _state,
)

pytestmark = pytest.mark.usefixtures("no_model")

SET_ASIDE = "warning: dream state from an older release: set aside; the next `dreamcli --home {} dream` rebuilds " \
            "it from the sessions (once)"  # the workspace's root


def _other(ws: Workspace, hour: int) -> str:
    """A session that makes none of the old file's patterns."""
    s = RawSession(ws, hour, task="other")
    s.call("bash", {"command": "make"}, "make: *** No rule to make target 'x'", error=True)
    s.say("Done.")
    return s.end()


def _yaml_ops(result: dict[str, Any]) -> list[str]:
    return [op["text"] for op in result["operations"] if "yaml" in (op.get("text") or "")]


@pytest.mark.parametrize("makes_held", [False, True], ids=["selection-without-it", "selection-with-it"])
def test_a_selection_keeps_the_held_records_for_the_next_dream(ws: Workspace, makes_held: bool) -> None:
    first = _old_state(ws)
    second = _session(ws, 1)  # the yaml error of HELD again: support 2 once every session is read
    other = _other(ws, 2)

    selected = _dream(ws, "--session", second if makes_held else other)

    assert selected.stderr.splitlines() == [SET_ASIDE.format(ws.root)]
    assert _yaml_ops(json.loads(selected.stdout)) == []  # held, not proposed by the selection either
    assert _files_holding(ws.root, *SECRETS) == []  # the held keys are kept as digests, no text
    state = json.loads(_state(ws).read_text())
    assert "redaction" not in state and state["patterns"] == []  # still untrusted: the next dream rebuilds it
    assert HELD not in state["proposed"] and state["proposed"]["stale|pb-gone0001"]["entry_id"] == "pb-gone0001"
    assert json.loads(_state(ws, "watermark.json").read_text())["last_session_id"] is None

    plain = _dream(ws)

    result = json.loads(plain.stdout)
    assert plain.stderr.splitlines() == [NOTICE] and result["state_rebuilt"] == "from an older release"
    assert result["inputs"]["sessions"] == 3
    assert _yaml_ops(result) == []  # the candidate held by an earlier dream is not proposed again
    state = json.loads(_state(ws).read_text())
    assert state["redaction"] == redaction_stamp(())
    assert state["proposed"][HELD] == {"entry_id": "pb-yaml0001", "dream_id": first, "support": 10}
    assert not any(key.startswith("unverified|") for key in state["proposed"])
    assert state["entry_use"]["pb-used0001"]["helpful"] == [first]
    assert _files_holding(ws.root, *SECRETS) == []
    assert _dream(ws).stderr == ""  # once


def test_what_a_selection_proposed_is_not_proposed_again_by_the_rebuild(ws: Workspace) -> None:
    """The selection's own records, keyed by the texts it scanned, are held like the old file's: a whole scan
    makes them again from the same sessions."""
    _old_state(ws)
    second, third = _session(ws, 1), _session(ws, 2)

    selected = json.loads(_dream(ws, "--session", second, "--session", third).stdout)
    (deploy,) = [op for op in selected["operations"] if "deploy --prod" in (op.get("text") or "")]

    state = json.loads(_state(ws).read_text())
    assert not any("deploy" in key for key in state["proposed"])  # a digest, not the text
    plain = json.loads(_dream(ws).stdout)
    assert not any("deploy --prod" in (op.get("text") or "") for op in plain["operations"])
    state = json.loads(_state(ws).read_text())
    assert state["proposed"][deploy["signature"]]["dream_id"] == selected["dream_id"]


def test_a_held_state_stamped_as_trusted_is_still_rebuilt(ws: Workspace) -> None:
    """A file of held digests under this workspace's stamp (written under other rules, then the rules changed
    back) is rebuilt too: loaded as trusted, its digests would never match, and the records would be lost."""
    from dreamcli.dream.watermark import load_aggregates

    _old_state(ws)
    _dream(ws, "--session", _other(ws, 1))
    data = json.loads(_state(ws).read_text())
    data["redaction"] = redaction_stamp(())
    _state(ws).write_text(json.dumps(data))

    agg = load_aggregates(ws, "default")

    assert agg.rebuild is not None and len(agg.unverified) == 2 and "stale|pb-gone0001" in agg.proposed
