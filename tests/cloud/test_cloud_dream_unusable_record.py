"""The record of a cloud dream whose create answer dreamcli cannot use (a malformed body naming a dream): once
dreamcli cancelled it, the record is final (canceled) and says why, in `cloud dream list` and its `--json`; when
the cancel fails, the record says so and stays unfinished, and `--refresh` settles it (docs/managed-agents.md,
"Cloud dreams")."""

from __future__ import annotations

import json
from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
from dreamcli.cloud.dream_base import base_path, claim_name
from dreamcli.cloud.dream_record import records_dir
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import bend_create, cli, cli_json, cloud_requests, data, dream_store, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

CANCEL_FAILS = (500, {"type": "error", "error": {"type": "api_error", "message": "cancel broke"}})


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _row(ws: Workspace) -> dict[str, Any]:
    [row] = cli_json(ws, "cloud", "dream", "list")["dreams"]
    assert isinstance(row, dict)
    return row


def row_id(ws: Workspace) -> str:
    """The id of the one record written."""
    [path] = [p for p in records_dir(ws).iterdir() if p.suffix == ".json"]
    return path.stem


def test_a_cancelled_unusable_dream_is_recorded_final_and_says_why(fake_anthropic: FakeAnthropic,
                                                                   ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    bend_create(fake_anthropic, lambda b: b.update(status=5))

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3, result.stderr
    [dream_id] = data(fake_anthropic).dreams
    assert "recorded as unfinished" not in result.stderr, result.stderr  # nothing left to settle
    row = _row(ws)
    assert (row["cloud_dream_id"], row["status"], row["finished"]) == (dream_id, "canceled", True)
    assert "the API answered status 5, not a status string" in row["note"], row
    assert f"cancelled cloud dream {dream_id}" in row["note"], row
    shown = cli(ws, "cloud", "dream", "list")
    assert shown.exit_code == 0 and shown.stderr == "", shown.stderr  # no "--refresh" advice: final
    [line] = [ln for ln in shown.stdout.splitlines() if ln.startswith(f"{dream_id}: ")]
    assert "the API answered status 5" in line, shown.stdout
    asked = len(fake_anthropic.all_requests)
    assert cli(ws, "cloud", "dream", "list", "--refresh").exit_code == 0
    assert len(fake_anthropic.all_requests) == asked  # final: never asked for
    assert not list((records_dir(ws) / "bases").iterdir())  # nothing left to make a proposal of
    assert not (ws.locks_dir / f"{claim_name(row_id(ws))}.lock").exists()


def test_a_failed_cancel_is_recorded_and_refresh_settles_the_dream(fake_anthropic: FakeAnthropic,
                                                                   ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    data(fake_anthropic).script_dream(pending_polls=0, running_polls=0, writes={"/notes/b.md": "b\n"})
    bend_create(fake_anthropic, lambda b: b.update(status=5), cancel=CANCEL_FAILS)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3, result.stderr
    [dream_id] = data(fake_anthropic).dreams
    assert result.stderr.strip().endswith(f"cloud dream {dream_id} is recorded as unfinished in `dreamcli --home "
                                          f"{ws.root} cloud dream list`"), result.stderr
    row = _row(ws)
    assert (row["status"], row["finished"]) == ("pending", False)
    assert f"cancelling cloud dream {dream_id} failed (InternalServerError)" in row["note"], row
    assert base_path(ws, row_id(ws)).is_file()  # kept: the dream may complete

    [settled] = cli_json(ws, "cloud", "dream", "list", "--refresh")["dreams"]  # it ran on, and completed

    assert (settled["status"], settled["finished"]) == ("completed", True), settled
    proposal = json.loads((ws.dreams_dir / settled["proposal"] / "proposal.json").read_text())
    assert [(o["op"], o["path"]) for o in proposal["operations"]] == [("create", "/memories/notes/b.md")]
    assert not base_path(ws, row_id(ws)).exists()


def test_a_failed_cancel_of_a_dream_canceled_elsewhere_is_settled_as_canceled(fake_anthropic: FakeAnthropic,
                                                                              ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    bend_create(fake_anthropic, lambda b: b.update(status=5), cancel=CANCEL_FAILS)
    assert cli(ws, "cloud", "dream", "--store", store).exit_code == 3
    [dream] = data(fake_anthropic).dreams.values()
    dream.body["status"] = "canceled"  # cancelled in the console

    [row] = cli_json(ws, "cloud", "dream", "list", "--refresh")["dreams"]

    assert (row["status"], row["finished"], row["proposal"]) == ("canceled", True, None)
    assert "cancelling cloud dream" in row["note"]  # why dreamcli did not cancel it itself, kept
    assert not base_path(ws, row_id(ws)).exists()
    assert len(cloud_requests(fake_anthropic, "GET", f"/v1/dreams/{dream.body['id']}")) == 1
