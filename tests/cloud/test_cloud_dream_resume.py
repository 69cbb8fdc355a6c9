"""A cloud dream that completes while no dreamcli waits on it (its `cloud dream` killed after the create, or
stopped by an error) becomes its local proposal at the next `cloud dream list --refresh`: the same proposal
`cloud dream` would have written, from the store as the dream found it (kept beside the record), written once
(a second refresh, or a refresh while the `cloud dream` that started it is still at work, writes none)
(docs/managed-agents.md, "Cloud dreams")."""

from __future__ import annotations

import json
import subprocess
import threading
from typing import Any

import pytest

import dreamcli.cloud.dream_job as dream_job
import dreamcli.cloud.dream_run as dream_run
from dreamcli.cloud.client import cloud_client
from dreamcli.cloud.dream_list import list_dreams
from dreamcli.cloud.dream_record import Recorder, records_dir
from dreamcli.config import LimitsConfig
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, cloud_requests, data, requires_managed_agents
from tests.support.run import DREAMCLI, cli_env, until

pytestmark = [requires_managed_agents, pytest.mark.timeout(90)]

MEMORIES = {"/notes/a.md": "a\n", "/notes/gone.md": "old\n"}
WRITES: dict[str, str | None] = {"/notes/a.md": "a, rewritten\n", "/notes/b.md": "b\n", "/notes/gone.md": None}


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _store(server: FakeAnthropic, ws: Workspace) -> str:
    ws.config_path.write_text("limits:\n  model_retries: 0\n")
    d = data(server)
    store = d.add_store(memories=dict(MEMORIES))
    d.add_session(store_ids=[store], status="terminated")
    return store


def _proposals(ws: Workspace) -> list[str]:
    return sorted(p.name for p in ws.dreams_dir.iterdir() if not p.name.startswith("."))


def _shape(ws: Workspace, local: str, cloud_id: str) -> dict[str, Any]:
    """The proposal and its `cloud` record, the cloud dream's own ids and times taken out: what two dreams
    over the same store, with the same result, share."""
    proposal = json.loads((ws.dreams_dir / local / "proposal.json").read_text())
    info = json.loads((ws.dreams_dir / local / "dream.json").read_text())
    ops = [{k: v for k, v in o.items() if k not in ("entry_id", "evidence")} for o in proposal["operations"]]
    cloud = {k: v for k, v in info["cloud"].items() if k not in ("dream_id", "input_store", "output_store",
                                                                     "session_id", "session_ids")}
    text = json.dumps({"ops": ops, "cloud": cloud, "status": info["status"], "usage": info["usage"],
                       "playbook": info["playbook"]})
    return json.loads(text.replace(cloud_id, "DRM"))  # type: ignore[no-any-return]


def _killed_after_the_create(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cloud dream` stops right after the create, as a kill -9 would stop it: no poll, no cancel."""
    def killed(*_args: Any, **_kwargs: Any) -> Any:
        raise SystemExit(137)

    monkeypatch.setattr(dream_job, "wait", killed)


def test_refresh_writes_the_proposal_cloud_dream_would_have_written_once(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    d = data(fake_anthropic)
    waited = _store(fake_anthropic, ws)
    d.script_dream(writes=dict(WRITES))
    [made] = cli_json(ws, "cloud", "dream", "--store", waited)["dreams"]  # waited on: its proposal, as ever
    killed = d.add_store(memories=dict(MEMORIES))
    d.add_session(store_ids=[killed], status="terminated")
    d.script_dream(pending_polls=0, running_polls=0, writes=dict(WRITES))
    with monkeypatch.context() as m:
        _killed_after_the_create(m)
        assert cli(ws, "cloud", "dream", "--store", killed).exit_code == 137
    [cloud_id] = [i for i in d.dreams if i != made["cloud_dream_id"]]
    assert _proposals(ws) == [made["dream_id"]]

    listed = cli(ws, "cloud", "dream", "list", "--refresh", "--json")

    assert listed.exit_code == 0, listed.stderr
    row = next(r for r in json.loads(listed.stdout)["dreams"] if r["cloud_dream_id"] == cloud_id)
    assert (row["status"], row["finished"]) == ("completed", True) and row["proposal"], row
    assert _proposals(ws) == sorted([made["dream_id"], row["proposal"]])
    assert _shape(ws, row["proposal"], cloud_id) == _shape(ws, made["dream_id"], made["cloud_dream_id"])
    [note] = listed.stderr.splitlines()
    assert f"local proposal {row['proposal']} written" in note and "playbooks diff" in note, note
    asked = len(fake_anthropic.all_requests)

    again = cli(ws, "cloud", "dream", "list", "--refresh", "--json")

    assert again.exit_code == 0 and again.stderr == "", again.stderr
    assert _proposals(ws) == sorted([made["dream_id"], row["proposal"]])  # no second proposal
    assert len(fake_anthropic.all_requests) == asked  # finished: nothing asked again
    assert not list((records_dir(ws) / "bases").iterdir())  # the base goes with the record's end


def test_a_cloud_dream_killed_with_9_is_brought_in_by_refresh(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    d = data(fake_anthropic)
    store = _store(fake_anthropic, ws)
    d.script_dream(pending_polls=10**6, writes={"/notes/b.md": "b\n"})
    fake_anthropic.allow_leftovers = True
    proc = subprocess.Popen([DREAMCLI, "--home", str(ws.root), "cloud", "dream", "--store", store],
                            env=cli_env(fake_anthropic.url, ws.root), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        until(lambda: list(records_dir(ws).glob("*.json")), "the cloud dream to be recorded")
        until(lambda: any(x.polls for x in d.dreams.values()), "the first poll")
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    [dream] = d.dreams.values()
    assert not dream.canceled
    dream.script.pending_polls = dream.polls  # it completes in the cloud while nobody waits on it
    dream.script.running_polls = 0

    [row] = cli_json(ws, "cloud", "dream", "list", "--refresh")["dreams"]

    assert (row["cloud_dream_id"], row["status"], row["finished"]) == (dream.body["id"], "completed", True)
    proposal = json.loads((ws.dreams_dir / row["proposal"] / "proposal.json").read_text())
    assert [(o["op"], o["path"]) for o in proposal["operations"]] == [("create", "/memories/notes/b.md")]
    output = dream.body["outputs"][0]["memory_store_id"]
    reads = len(cloud_requests(fake_anthropic, "GET", f"/v1/memory_stores/{output}/memories"))
    assert cli_json(ws, "cloud", "dream", "list", "--refresh")["dreams"] == [row]
    assert _proposals(ws) == [row["proposal"]]
    assert len(cloud_requests(fake_anthropic, "GET", f"/v1/memory_stores/{output}/memories")) == reads


def test_a_refresh_while_cloud_dream_writes_the_proposal_leaves_it_to_that_command(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(fake_anthropic, ws)
    data(fake_anthropic).script_dream(writes={"/notes/b.md": "b\n"})
    write = dream_run.write_proposal
    during: list[Any] = []

    def refresh_first(*args: Any, **kwargs: Any) -> Any:
        """The dream completed; a `cloud dream list --refresh` runs before this command writes the proposal."""
        during.append(list_dreams(ws, client=cloud_client(LimitsConfig(model_retries=0))))
        return write(*args, **kwargs)

    monkeypatch.setattr(dream_run, "write_proposal", refresh_first)

    [made] = cli_json(ws, "cloud", "dream", "--store", store)["dreams"]

    [listing] = during
    [row] = listing.rows
    assert (row["status"], row["finished"], row["proposal"]) == ("completed", False, None)
    [warning] = listing.warnings
    assert "still at work on it" in warning and made["cloud_dream_id"] in warning, warning
    assert _proposals(ws) == [made["dream_id"]]


def test_a_proposal_written_just_before_a_kill_is_linked_not_written_again(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(fake_anthropic, ws)
    data(fake_anthropic).script_dream(writes={"/notes/b.md": "b\n"})
    with monkeypatch.context() as m:
        def killed(*_args: Any) -> None:
            raise SystemExit(137)

        m.setattr(Recorder, "proposal", killed)  # the proposal is in dreams/, the record not yet told
        assert cli(ws, "cloud", "dream", "--store", store).exit_code == 137
    [local] = _proposals(ws)

    [row] = cli_json(ws, "cloud", "dream", "list", "--refresh")["dreams"]

    assert (row["finished"], row["proposal"]) == (True, local)
    assert _proposals(ws) == [local]


def test_a_completed_dream_without_its_base_is_finished_with_a_note(
        fake_anthropic: FakeAnthropic, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(fake_anthropic, ws)
    data(fake_anthropic).script_dream(pending_polls=0, running_polls=0)
    with monkeypatch.context() as m:
        _killed_after_the_create(m)
        assert cli(ws, "cloud", "dream", "--store", store).exit_code == 137
    for base in (records_dir(ws) / "bases").iterdir():
        base.unlink()  # as a record an earlier dreamcli wrote

    listed = cli(ws, "cloud", "dream", "list", "--refresh", "--json")

    [row] = json.loads(listed.stdout)["dreams"]
    assert (row["status"], row["finished"], row["proposal"]) == ("completed", True, None)
    assert "the memory store as the dream found it was not kept" in row["note"]
    [line] = listed.stderr.splitlines()
    assert line.startswith("warning: ") and row["output_store"] in line, line
    asked = len(fake_anthropic.all_requests)
    assert cli(ws, "cloud", "dream", "list", "--refresh").exit_code == 0
    assert len(fake_anthropic.all_requests) == asked and not _proposals(ws)


def test_the_base_of_a_dream_killed_before_its_create_was_recorded_is_swept_by_refresh(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = _store(fake_anthropic, ws)
    route = fake_anthropic.managed._route
    arrived, release = threading.Event(), threading.Event()

    def stalled(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if rec.method == "POST" and parts == ["dreams"]:  # the create hangs: the command is killed meanwhile
            arrived.set()
            release.wait(30)
            return 500, {"type": "error", "error": {"type": "api_error", "message": "too late"}}
        return route(rec, parts, q)

    fake_anthropic.managed._route = stalled  # type: ignore[method-assign]
    fake_anthropic.allow_leftovers = True
    proc = subprocess.Popen([DREAMCLI, "--home", str(ws.root), "cloud", "dream", "--store", store],
                            env=cli_env(fake_anthropic.url, ws.root), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert arrived.wait(30), "the create request never came"
        proc.kill()
        proc.wait(30)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    bases = records_dir(ws) / "bases"
    [base] = list(bases.iterdir())
    assert not list(records_dir(ws).glob("*.json"))
    assert cli(ws, "cloud", "dream", "list").exit_code == 0 and base.exists()  # the plain list changes nothing

    assert cli(ws, "cloud", "dream", "list", "--refresh").exit_code == 0

    assert not list(bases.iterdir()) and not (ws.locks_dir / f"cloud-dream-{base.stem}.lock").exists()
