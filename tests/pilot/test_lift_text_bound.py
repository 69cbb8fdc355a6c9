"""A pilot's lift counts only for what it measured (docs/pilot.md, "In review"): the text of the entries
piloted together and the playbook's other entries. An edit, `approve --edit-text`, or another change to
the live playbook makes the entry read as not piloted (`playbooks diff` says so), and
`approval.require_lift` holds it unless forced. Approving the dream's own entries one by one does not."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from dreamcli.audit import content_hash
from dreamcli.playbooks import Entry, render_playbook
from dreamcli.playbooks.store import read_live
from dreamcli.testing import FakeAnthropic
from dreamcli.workspace.fsutil import atomic_write_text
from tests.pilot.helpers import DREAM, HELPS, NEUTRAL, config, run_pilot_api, scripted_agent, seed_workspace, write_task
from tests.support.playbooks import audit, cli, decisions, write_playbook

GATE = "approval:\n  require_lift: true\n"
EDITED = HELPS + " Cite the clause too."  # still carries the marker the scripted agent looks for


def _diff(ws: Any) -> str:
    from dreamcli.cli.app import app

    r = CliRunner().invoke(app, ["--home", str(ws.root), "playbooks", "diff", DREAM],
                           env={"NO_COLOR": "1", "COLUMNS": "200", "DREAMCLI_ACTOR": "tester"})
    assert r.exit_code == 0, r.stderr
    return r.stdout


def _pilot_lines(ws: Any, entry: str) -> list[str]:
    block = _diff(ws).split(entry, 1)[1].split("ADDED", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip().startswith(("pilot:", "leave-one-out:"))]


def _approve(ws: Any, entry: str, *extra: str) -> Any:
    return cli(ws, "playbooks", "approve", DREAM, "--entry", entry, *extra, "--yes")


def test_an_edit_after_the_pilot_makes_the_entry_unpiloted(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    config(ws, GATE)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    task = write_task(tmp_path)
    first = run_pilot_api(ws, task, trials=6)
    assert first["measured"]["entries"] == {"pb-pilot001": content_hash(HELPS)}  # what it measured, recorded
    assert first["measured"]["base_version"] == 2 and list(first["measured"]["others"]) == ["pb-live0001"]
    r = cli(ws, "playbooks", "edit", DREAM, "pb-pilot001", "--text", "Never cite section numbers; paraphrase.")
    assert r.exit_code == 0, r.stderr
    assert _pilot_lines(ws, "pb-pilot001") == [
        "pilot: measured an earlier text; re-run the pilot (it measured: lift +1.00 (95% CI +1.00\u2026+1.00, "
        "p 0.031, 6 pairs; alone) helps)"]
    r = _approve(ws, "pb-pilot001")
    assert r.exit_code == 2
    assert (f"error: approval.require_lift: entry pb-pilot001 cannot be approved: it has not been piloted as it "
            f"stands: its pilot ({first['pilot_id']}) measured an earlier text (1 entry held)") in r.stderr
    assert [d["action"] for d in decisions(ws, DREAM)] == ["edit"]  # nothing approved
    assert "Never cite" not in (ws.playbooks_dir / "default.md").read_text()
    r = cli(ws, "playbooks", "diff", DREAM, "--json")
    pilot = json.loads(r.stdout)["dreams"][0]["operations"][0]["pilot"]
    assert pilot["stale"] == "measured an earlier text" and pilot["pilot_id"] == first["pilot_id"]
    page = tmp_path / "review.html"
    assert cli(ws, "playbooks", "diff", "--html", str(page)).exit_code == 0
    assert "(measured an earlier text; re-run the pilot)" in page.read_text()  # the review page says so too

    r = _approve(ws, "pb-pilot001", "--force", "--reason", "legal wording, measured elsewhere")
    assert r.exit_code == 0, r.stderr
    assert audit(ws)[-1]["forced_lift"] == [{"entry_id": "pb-pilot001", "why": (
        f"it has not been piloted as it stands: its pilot ({first['pilot_id']}) measured an earlier text")}]


def test_a_new_pilot_of_the_edited_text_counts(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    config(ws, GATE)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    task = write_task(tmp_path)
    run_pilot_api(ws, task, trials=6)
    assert cli(ws, "playbooks", "edit", DREAM, "pb-pilot001", "--text", EDITED).exit_code == 0
    second = run_pilot_api(ws, task, trials=6)
    assert second["measured"]["entries"] == {"pb-pilot001": content_hash(EDITED)}
    assert _pilot_lines(ws, "pb-pilot001")[0].startswith("pilot: lift +1.00")
    r = _approve(ws, "pb-pilot001")
    assert r.exit_code == 0, r.stderr
    assert EDITED in (ws.playbooks_dir / "default.md").read_text()


def test_approve_edit_text_is_not_what_was_piloted(fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws)
    config(ws, GATE)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    run_pilot_api(ws, write_task(tmp_path), trials=6)
    r = _approve(ws, "pb-pilot001", "--edit-text", "Paraphrase every clause.")
    assert r.exit_code == 2 and "it has not been piloted as it stands" in r.stderr
    assert not decisions(ws, DREAM)
    r = _approve(ws, "pb-pilot001", "--edit-text", HELPS + "\n")  # the same text (as applied): still piloted
    assert r.exit_code == 0, r.stderr


def test_the_dreams_own_approvals_keep_a_joint_pilot_valid_other_changes_do_not(
        fake_anthropic: FakeAnthropic, ws, tmp_path) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL, NEUTRAL + " Use lists."))
    config(ws, GATE)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    run_pilot_api(ws, write_task(tmp_path), trials=6, entry_ids=["pb-pilot001", "pb-pilot002"])
    r = _approve(ws, "pb-pilot001")
    assert r.exit_code == 2 and "measured with pb-pilot002, which this approval leaves out" in r.stderr
    r = _approve(ws, "pb-pilot001", "--force", "--reason", "pb-pilot002 follows")
    assert r.exit_code == 0, r.stderr  # the live playbook is now v3, with pb-pilot001 in it
    r = _approve(ws, "pb-pilot003", "--force", "--reason", "formatting only")
    assert r.exit_code == 0, r.stderr  # another entry of the same dream, not piloted: forced in
    live_file = ws.playbooks_dir / "default.md"
    approved = live_file.read_text()
    pb, _ = read_live(ws, "default")
    assert pb is not None
    pb.add_entry(Entry(id="pb-other001", text="Reply in French."), "Tools")  # another dream's change, say
    atomic_write_text(live_file, render_playbook(pb))
    r = _approve(ws, "pb-pilot002")
    assert r.exit_code == 2
    assert "measured on an earlier version of playbook default (pb-other001 changed since)" in r.stderr
    atomic_write_text(live_file, approved)
    r = _approve(ws, "pb-pilot002")
    assert r.exit_code == 0, r.stderr  # measured together with pb-pilot001; the rest of the playbook as it was


def test_a_changed_playbook_or_an_edited_partner_makes_the_lift_stale(fake_anthropic: FakeAnthropic, ws,
                                                                      tmp_path) -> None:
    seed_workspace(ws, entries=(HELPS, NEUTRAL))
    config(ws, GATE)
    fake_anthropic.responder = scripted_agent(1.0, 0.0)
    result = run_pilot_api(ws, write_task(tmp_path), trials=6)
    assert sorted(result["measured"]["entries"]) == ["pb-pilot001", "pb-pilot002"]
    assert cli(ws, "playbooks", "edit", DREAM, "pb-pilot002", "--text", "Prefer long sentences.").exit_code == 0
    r = _approve(ws, "pb-pilot001")
    assert r.exit_code == 2
    assert (f"its pilot ({result['pilot_id']}) measured an earlier text of pb-pilot002 (piloted together)"
            in r.stderr)

    seed = [("pb-live0001", "Tools", "Use pandoc for docx."), ("pb-live0002", "Tools", "Keep a changelog.")]
    write_playbook(ws, "default", seed, version=3)  # another change to the live playbook since the pilot
    lines = _pilot_lines(ws, "pb-pilot001")
    assert lines[0].startswith("pilot: measured an earlier text of pb-pilot002 (piloted together); re-run")
    (ws.dreams_dir / DREAM / "decisions.jsonl").unlink()  # the edit undone: only the playbook differs now
    assert _pilot_lines(ws, "pb-pilot001")[0].startswith(
        "pilot: measured on an earlier version of playbook default (pb-live0002 changed since); re-run the pilot")
    r = _approve(ws, "pb-pilot001")
    assert r.exit_code == 2 and "measured on an earlier version of playbook default" in r.stderr


def _legacy(ws: Any) -> None:
    """A pilot.json written before pilots recorded what they measured."""
    run = {"pilot_id": "OLD1", "entries": ["pb-pilot001"], "ts": "2026-12-01T10:00:00Z",
           "lift": {"delta": 0.5, "ci95": [0.2, 0.8], "p_value": 0.01, "pairs": 12}}
    atomic_write_text(ws.dreams_dir / DREAM / "pilot.json", json.dumps({"v": 1, "dream_id": DREAM, "runs": [run]}))


def test_an_older_result_counts_only_while_the_entry_was_never_edited(ws) -> None:
    seed_workspace(ws)
    config(ws, GATE)
    _legacy(ws)
    assert cli(ws, "playbooks", "edit", DREAM, "pb-pilot001", "--text", EDITED).exit_code == 0
    r = _approve(ws, "pb-pilot001")
    assert r.exit_code == 2
    assert ("its pilot (OLD1) did not record the text it measured, and pb-pilot001 was edited since it was "
            "proposed") in r.stderr
    (ws.dreams_dir / DREAM / "decisions.jsonl").unlink()  # never edited: the text is the proposal's
    r = _approve(ws, "pb-pilot001")
    assert r.exit_code == 0, r.stderr


def _run(pilot_id: str, text: str, lo: float) -> dict[str, Any]:
    from dreamcli.playbooks.lift import text_hash

    return {"pilot_id": pilot_id, "entries": ["pb-pilot001"], "ts": "2026-12-05T10:00:00Z",
            "lift": {"delta": lo + 0.1, "ci95": [lo, lo + 0.2], "p_value": 0.01, "pairs": 12},
            "measured": {"playbook": "default", "base_version": 2, "entries": {"pb-pilot001": text_hash(text)},
                         "others": {}}}


def test_the_last_run_that_matches_the_text_counts(ws) -> None:
    from dreamcli.playbooks.lift import current_state, last_lifts, lift_problem
    from dreamcli.playbooks.proposals import load_dream

    seed_workspace(ws)
    write_playbook(ws, "default", [], version=2)  # no other entries: only the text is compared
    atomic_write_text(ws.dreams_dir / DREAM / "pilot.json", json.dumps({"runs": [
        _run("P1", HELPS, 0.3), _run("P2", EDITED, -0.6)]}))
    dream = load_dream(ws, DREAM)
    lift = last_lifts(dream.dir, current_state(dream, []))["pb-pilot001"]
    assert (lift.pilot_id, lift.stale) == ("P1", None) and lift_problem(lift) is None  # P2 measured other text
    assert last_lifts(dream.dir)["pb-pilot001"].pilot_id == "P2"  # without `now`: as recorded
    lift = last_lifts(dream.dir, current_state(dream, [], {"pb-pilot001": EDITED}))["pb-pilot001"]
    assert lift.pilot_id == "P2" and "upper bound is not above 0" in (lift_problem(lift) or "")
    lift = last_lifts(dream.dir, current_state(dream, [], {"pb-pilot001": "Something else."}))["pb-pilot001"]
    assert (lift.pilot_id, lift.stale) == ("P2", "measured an earlier text")  # none matches: the last, stale
