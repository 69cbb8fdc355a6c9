"""`cloud dream list` and the record behind it: a cloud dream is recorded as soon as its create returns, so
one a command leaves unfinished (a network error after the create, a failed poll) is still found later, and
the error line says where; a create whose id never came back is recorded without one, and the "may have
started" line points to the list. `--refresh` asks the API for each unfinished dream's status."""

from __future__ import annotations

import json
import shutil
import time
from typing import Any

import pytest
from typer.testing import CliRunner

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, cloud_requests, data, dream_store, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(60)]

LISTED = "recorded as unfinished in `dreamcli --home {} cloud dream list`"  # the workspace's root


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _answer(server: FakeAnthropic, when: Any, status: int = 503) -> None:
    """Requests `when(rec, parts)` picks answer `status` once each; the rest as the fake does."""
    route = server.managed._route

    def answer(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if when(rec, parts):
            return status, {"type": "error", "error": {"type": "api_error", "message": "upstream reset"}}
        return route(rec, parts, q)

    server.managed._route = answer  # type: ignore[method-assign]
    server.allow_leftovers = True


def _listed(ws: Workspace) -> list[dict[str, Any]]:
    rows = cli_json(ws, "cloud", "dream", "list")["dreams"]
    assert isinstance(rows, list)
    return rows


def _at_80(ws: Workspace, *args: str) -> Any:
    from dreamcli.cli.app import app

    return CliRunner().invoke(app, ["--home", str(ws.root), *args],
                              env={"DREAMCLI_ACTOR": "tester", "NO_COLOR": "1", "COLUMNS": "80"})


def _output_store_fails(server: FakeAnthropic, ws: Workspace, store: str, how: str) -> None:
    """Reading the output store of the dream fails: an error answer, or no answer within the timeout."""
    reading = lambda rec, parts: parts[0] == "memory_stores" and parts[1] != store and parts[-1] == "memories"  # noqa: E731
    if how == "503":
        _answer(server, reading)
        return
    ws.config_path.write_text("limits:\n  model_retries: 0\n  request_timeout_s: 1\n")
    route = server.managed._route

    def stalled(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if reading(rec, parts):
            time.sleep(1.5)
        return route(rec, parts, q)

    server.managed._route = stalled  # type: ignore[method-assign]
    server.allow_leftovers = True


@pytest.mark.parametrize("how", ["503", "timeout"])
def test_a_network_error_after_the_create_leaves_the_dream_recorded_as_unfinished(
        fake_anthropic: FakeAnthropic, ws: Workspace, how: str) -> None:
    store = dream_store(fake_anthropic, ws)
    _output_store_fails(fake_anthropic, ws, store, how)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3, result.stderr
    [dream_id] = data(fake_anthropic).dreams
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: read the result of cloud dream") and line.endswith(
        f"; cloud dream {dream_id} is {LISTED.format(ws.root)}"), line
    [row] = _listed(ws)
    assert row["cloud_dream_id"] == dream_id and row["store_id"] == store
    assert row["status"] == "completed" and row["finished"] is False and row["proposal"] is None
    assert row["output_store"] is not None and row["created"].endswith("Z")
    plain = _at_80(ws, "cloud", "dream", "list")
    assert plain.exit_code == 0 and "completed, unfinished" in plain.stdout, plain.stdout
    assert "1 completed dream with no proposal written" in plain.stderr and "--refresh writes it" in plain.stderr


def test_a_completed_dream_whose_result_cannot_be_read_yet_is_brought_in_by_a_later_refresh(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    route = fake_anthropic.managed._route
    _output_store_fails(fake_anthropic, ws, store, "503")
    assert cli(ws, "cloud", "dream", "--store", store).exit_code == 3
    [dream_id] = data(fake_anthropic).dreams

    failing = cli(ws, "cloud", "dream", "list", "--refresh", "--json")  # the output store still answers 503

    assert failing.exit_code == 0, failing.stderr
    [row] = json.loads(failing.stdout)["dreams"]
    assert (row["status"], row["finished"], row["proposal"]) == ("completed", False, None)
    [line] = failing.stderr.splitlines()
    assert line.startswith(f"warning: cloud dream {dream_id} completed; no proposal written yet") and "503" in line
    assert json.loads(failing.stdout)["warnings"] == [line.removeprefix("warning: ")]
    fake_anthropic.managed._route = route  # type: ignore[method-assign]

    [row] = cli_json(ws, "cloud", "dream", "list", "--refresh")["dreams"]

    assert (row["status"], row["finished"]) == ("completed", True) and row["proposal"], row
    assert [p.name for p in ws.dreams_dir.iterdir() if not p.name.startswith(".")] == [row["proposal"]]


def test_a_failed_poll_leaves_the_dream_recorded_and_refresh_brings_it_up_to_date(
        fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    data(fake_anthropic).script_dream(pending_polls=0, running_polls=1)
    failed: list[bool] = []

    def first_poll(rec: Any, parts: list[str]) -> bool:
        hit = parts[0] == "dreams" and len(parts) == 2 and rec.method == "GET" and not failed
        failed.extend([True] if hit else [])
        return hit

    _answer(fake_anthropic, first_poll)

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3, result.stderr
    [dream_id] = data(fake_anthropic).dreams
    assert result.stderr.strip().splitlines()[-1].endswith(f"; cloud dream {dream_id} is {LISTED.format(ws.root)}")
    [row] = _listed(ws)
    assert (row["status"], row["finished"]) == ("pending", False)
    later = _at_80(ws, "cloud", "dream", "list")
    assert "pending, unfinished" in later.stdout and "--refresh" in later.stderr, later.stdout + later.stderr

    polls = len(cloud_requests(fake_anthropic, "GET", f"/v1/dreams/{dream_id}"))
    [running] = cli_json(ws, "cloud", "dream", "list", "--refresh")["dreams"]
    assert running["status"] == "running" and running["output_store"] and running["finished"] is False
    assert len(cloud_requests(fake_anthropic, "GET", f"/v1/dreams/{dream_id}")) == polls + 1
    [completed] = cli_json(ws, "cloud", "dream", "list", "--refresh")["dreams"]
    assert completed["status"] == "completed" and completed["finished"] is True  # its proposal written
    assert completed["proposal"] and (ws.dreams_dir / completed["proposal"] / "proposal.json").is_file()
    assert _listed(ws) == [completed]  # kept in the record
    cli_json(ws, "cloud", "dream", "list", "--refresh")  # finished: never asked again
    assert len(cloud_requests(fake_anthropic, "GET", f"/v1/dreams/{dream_id}")) == polls + 2


def test_a_completed_dream_is_listed_with_its_proposal_at_80_columns(fake_anthropic: FakeAnthropic,
                                                                     ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    data(fake_anthropic).script_dream(writes={"/notes/b.md": "b\n"})
    [made] = cli_json(ws, "cloud", "dream", "--store", store)["dreams"]
    data(fake_anthropic).script_dream(final="failed")
    assert cli(ws, "cloud", "dream", "--store", store).exit_code == 3

    newest, first = _listed(ws)
    assert (first["cloud_dream_id"], first["proposal"]) == (made["cloud_dream_id"], made["dream_id"])
    assert (first["status"], first["finished"], first["sessions"]) == ("completed", True, 1)
    assert (newest["status"], newest["finished"], newest["proposal"]) == ("failed", True, None)
    shown = _at_80(ws, "cloud", "dream", "list")
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split()[:3] == ["cloud", "dream", "created"]
    assert all(len(line) <= 80 for line in lines), shown.stdout
    for value in (made["cloud_dream_id"], made["dream_id"], store, "completed", "failed"):
        assert value in shown.stdout, shown.stdout
    assert shown.stderr == ""  # nothing unfinished: no note
    assert not [r for r in cli_json(ws, "cloud", "dream", "list", "--refresh")["dreams"] if not r["finished"]]


def test_a_create_that_may_have_started_a_dream_points_to_the_list(fake_anthropic: FakeAnthropic,
                                                                   ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    route = fake_anthropic.managed._route

    def started_then_503(rec: Any, parts: list[str], q: dict[str, str]) -> Any:
        if rec.method == "POST" and parts == ["dreams"]:
            route(rec, parts, q)  # started, and billed
            return 503, {"type": "error", "error": {"type": "api_error", "message": "upstream reset"}}
        return route(rec, parts, q)

    fake_anthropic.managed._route = started_then_503  # type: ignore[method-assign]
    fake_anthropic.allow_leftovers = True

    result = cli(ws, "cloud", "dream", "--store", store)

    assert result.exit_code == 3, result.stderr
    [line] = result.stderr.splitlines()
    assert "a cloud dream may have started all the same" in line, line
    assert f"`dreamcli --home {ws.root} cloud dream list` shows when and over which store" in line, line
    assert f"before running `dreamcli --home {ws.root} cloud dream` again" in line, line
    [row] = _listed(ws)
    assert (row["cloud_dream_id"], row["status"], row["finished"], row["store_id"]) == (None, "unknown", False, store)
    shown = _at_80(ws, "cloud", "dream", "list")
    assert "id never came back" in shown.stdout, shown.stdout


def test_the_list_needs_no_key_and_asks_the_api_nothing(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = dream_store(fake_anthropic, ws)
    cli_json(ws, "cloud", "dream", "--store", store)
    before = len(fake_anthropic.all_requests)
    monkeypatch.delenv("ANTHROPIC_API_KEY")

    [row] = _listed(ws)

    assert row["finished"] is True and len(fake_anthropic.all_requests) == before
    refresh = cli(ws, "cloud", "dream", "list", "--refresh")
    assert refresh.exit_code == 4 and "ANTHROPIC_API_KEY" in refresh.stderr


def test_cloud_dreams_made_before_the_record_are_listed_from_their_proposals(fake_anthropic: FakeAnthropic,
                                                                             ws: Workspace) -> None:
    store = dream_store(fake_anthropic, ws)
    [made] = cli_json(ws, "cloud", "dream", "--store", store)["dreams"]
    shutil.rmtree(ws.state_dir / "cloud" / "dreams")

    [row] = _listed(ws)

    assert (row["cloud_dream_id"], row["proposal"]) == (made["cloud_dream_id"], made["dream_id"])
    assert row["store_id"] == store
    assert row["finished"] is True and row["status"] == "completed"


def test_an_empty_list_says_so_on_stderr(ws: Workspace) -> None:
    shown = cli(ws, "cloud", "dream", "list")
    assert shown.exit_code == 0 and shown.stdout == "" and "no cloud dreams recorded" in shown.stderr
    listed = json.loads(cli(ws, "cloud", "dream", "list", "--json").stdout)
    assert listed == {"version": 1, "dreams": [], "warnings": [], "unreadable": []}


@pytest.mark.parametrize(("args", "said"), [
    (("cloud", "dream"), "give --store STORE_ID"),
    (("cloud", "dream", "--store", "memstore_01abc", "list"), "--store belongs to `cloud dream --store STORE_ID`"),
])
def test_cloud_dream_without_a_store_or_with_list_is_one_line_exit_2(ws: Workspace, args: tuple[str, ...],
                                                                    said: str) -> None:
    result = cli(ws, *args)
    assert result.exit_code == 2 and said in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_help_shows_the_list_with_an_example() -> None:
    from dreamcli.cli.app import app

    dream = CliRunner().invoke(app, ["cloud", "dream", "--help"], env={"COLUMNS": "80"})
    listing = CliRunner().invoke(app, ["cloud", "dream", "list", "--help"], env={"COLUMNS": "80"})

    assert dream.exit_code == 0 and "--store STORE_ID" in dream.stdout and "dreamcli cloud dream list" in dream.stdout
    assert listing.exit_code == 0 and "dreamcli cloud dream list --refresh --json" in listing.stdout
    assert "local record only" in " ".join(listing.stdout.split())
    assert all(len(line) <= 80 for line in dream.stdout.splitlines() + listing.stdout.splitlines())
