"""`dreamcli dream` through the CLI (temp homes, no terminal, no model): the README's first command,
--json/--quiet/--dry-run, cron safety (lock, rerun, killed dream, log), auto-approve policy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)



def _dreams(home: Path) -> list[Path]:
    d = home / "dreams"
    return sorted(p for p in d.iterdir()) if d.is_dir() else []


def test_readme_first_command_then_rerun_does_nothing(demo: Path) -> None:
    r = run("--home", str(demo), "dream", "--offline")
    assert r.exit_code == 0, r.output
    assert "unzip -p FILE.docx" in r.stdout and "pdftotext" in r.stdout and "section number" in r.stdout
    assert "Nothing is live yet" in r.stderr and "playbooks diff" in r.stderr
    (dream_dir,) = _dreams(demo)
    assert sorted(p.name for p in dream_dir.iterdir()) == ["dream.json", "proposal.json", "report.md"]
    assert dream_dir.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in dream_dir.iterdir())
    dream = json.loads((dream_dir / "dream.json").read_text())
    assert dream["status"] == "pending" and dream["offline"] is True and dream["inputs"]["sessions"] == 40
    assert dream["usage"]["model_calls"] == 0
    report = (dream_dir / "report.md").read_text()
    assert "## Playbook" in report and "Evidence:" in report and dream["dream_id"] in report
    assert not (demo / "playbooks" / "default.md").exists()  # nothing live
    again = run("--home", str(demo), "dream", "--offline")
    assert again.exit_code == 0 and "Nothing new" in again.stderr
    assert len(_dreams(demo)) == 1
    log = (demo / "state" / "logs" / "dream.log").read_text().splitlines()
    assert len(log) == 2 and "status=pending" in log[0] and "status=nothing_new" in log[1]
    # the cron fast path reads the watermark only: whether other state was set aside is not known
    quick = json.loads(run("--home", str(demo), "dream", "--offline", "--json").stdout)
    assert quick["status"] == "nothing_new" and quick["state_set_aside"] is None
    full = json.loads(run("--home", str(demo), "dream", "--offline", "--json", "--all", "--dry-run").stdout)
    assert full["state_set_aside"] == []


def test_no_model_configured_means_offline_and_json(demo: Path) -> None:
    r = run("--home", str(demo), "dream", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["status"] == "pending" and data["inputs"]["sessions"] == 40
    assert Path(data["report_path"]).exists()
    kinds = {op["kind"] for op in data["operations"]}
    assert {"error_recovery", "correction", "criterion", "memory_note"} <= kinds
    # the fallback to offline is said on stderr, one line (issue 20: silent under cron before)
    assert r.stderr.startswith("warning: no model configured") and r.stderr.count("\n") == 1


def test_dry_run_writes_nothing_and_quiet_prints_nothing(demo: Path) -> None:
    r = run("--home", str(demo), "dream", "--dry-run")
    assert r.exit_code == 0 and "would be proposed" in r.stderr
    assert _dreams(demo) == [] and not (demo / "state" / "dream").exists()
    q = run("--home", str(demo), "dream", "--quiet")
    assert q.exit_code == 0 and q.stdout == ""
    assert q.stderr.startswith("warning: no model configured") and "offline" in q.stderr  # -q still says it
    assert len(_dreams(demo)) == 1
    assert run("--home", str(demo), "dream", "--quiet", "--offline", "--all").stderr == ""  # asked for: silent


def test_lock_held_exits_75_and_leaves_nothing(demo: Path) -> None:
    with workspace_lock(Workspace(root=demo, source="option"), "dream"):
        r = run("--home", str(demo), "dream")
    assert r.exit_code == 75
    assert r.stderr.startswith("error: ") and "--wait" in r.stderr and r.stderr.count("\n") == 1
    assert _dreams(demo) == []


def test_killed_while_writing_leaves_no_partial_proposal(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dreamcli.dream.proposal as proposal

    real = proposal.atomic_write_text

    def dies_on_report(path: Path, text: str, **kw: object) -> None:
        if path.name == "report.md":
            raise KeyboardInterrupt
        real(path, text, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(proposal, "atomic_write_text", dies_on_report)
    r = run("--home", str(demo), "dream")
    assert r.exit_code == 130
    assert list((demo / "dreams").iterdir()) == []  # no dream, no temp dir
    assert not (demo / "state" / "dream" / "default" / "watermark.json").exists()
    monkeypatch.setattr(proposal, "atomic_write_text", real)
    again = run("--home", str(demo), "dream", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["inputs"]["sessions"] == 40


def test_auto_approve_needs_the_policy(demo: Path) -> None:
    r = run("--home", str(demo), "dream", "--auto-approve")
    assert r.exit_code == 2 and "auto_approve" in r.stderr
    assert _dreams(demo) == []
    (demo / "config.yaml").write_text("dream:\n  auto_approve: true\nlint:\n  forbid_phrases: [\"pdftotext\"]\n")
    r = run("--home", str(demo), "dream", "--auto-approve", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    held = data["auto_approved"]["held_for_review"]
    assert len(held) == 1  # the entry with a blocking finding waits for a person
    assert data["auto_approved"]["approved"]
    live = (demo / "playbooks" / "default.md").read_text()
    assert "unzip -p FILE.docx" in live and "pdftotext" not in live
    audit = [json.loads(x) for x in (demo / "audit.jsonl").read_text().splitlines()]
    assert [(a["action"], a["actor"]) for a in audit] == [("approve", "dreamcli dream --auto-approve")]


def test_bad_input_exits_2(demo: Path, tmp_path: Path) -> None:
    r = run("--home", str(demo), "dream", "--instructions", "x" * 4097)
    assert r.exit_code == 2 and "4096" in r.stderr
    assert run("--home", str(demo), "dream", "--playbook", "../etc").exit_code == 2
    assert run("--home", str(demo), "dream", "--since", "yesterday-ish").exit_code == 2
    assert run("--home", str(demo), "dream", "--all", "--since", "7d").exit_code == 2
    assert run("--home", str(tmp_path / "missing"), "dream").exit_code == 2
    r = run("--home", str(demo), "dream", "--instructions", "@" + str(tmp_path / "nope.txt"))
    assert r.exit_code == 2 and "nope.txt" in r.stderr


def test_a_dry_run_shows_no_id_the_real_dream_would_not_have(demo: Path) -> None:
    """A dream's id and the ids of the entries it adds are drawn when it writes: a dry run's would be others, and a
    reviewer who copied one would approve nothing. An existing entry's id (its counts, an update) is the same."""
    dry = run("--home", str(demo), "dream", "--offline", "--dry-run", "--json")
    assert json.loads(dry.stdout)["dream_id"] is None
    text = run("--home", str(demo), "dream", "--offline", "--dry-run")
    heads = [line for line in text.stdout.splitlines() if line.startswith(("add ", "merge ", "retire "))]
    assert heads and not any(re.search(r"\b(pb|mem)-", line) for line in heads), heads
    assert run("--home", str(demo), "dream", "--offline").exit_code == 0
    assert run("--home", str(demo), "playbooks", "approve", "--all", "--yes").exit_code == 0
    live = {m.group(0) for m in re.finditer(r"pb-[0-9a-z]{8}", (demo / "playbooks" / "default.md").read_text())}
    again = run("--home", str(demo), "dream", "--offline", "--all", "--dry-run").stdout.splitlines()
    counts = [line.split()[1] for line in again if line.startswith("counts ")]
    assert counts and set(counts) <= live
