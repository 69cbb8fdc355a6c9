"""Review findings on the dream's safety: the memory store is read without following symlinks out of it,
proposals and reports are always redacted with the built-in rules, and --dry-run touches nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.memory import memory_operations, read_notes
from dreamcli.playbooks.lint import lint_operation
from dreamcli.playbooks.proposal_model import Operation
from dreamcli.workspace.home import Workspace

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ7pLm4Xq2"
ANTHROPIC_KEY = ("sk-ant-api03-Zk3hQ9vXw2LmN8pRt5YbC7dFg1HjK4sA6eUiO0qWzXcVbNmL-aB3cD4eF5gH6iJ7kL8mN9oP_"
                 "AbCdEfGhIj-QrStUvAA")
CREDS = f"# Deploy creds (2020)\naws_secret_access_key = {AWS_SECRET}\nANTHROPIC_API_KEY={ANTHROPIC_KEY}\n"
YEAR_2020 = 1_590_000_000.0


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def samples_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("samples")
    r = run("init", str(base / "demo"), "--with-samples")
    assert r.exit_code == 0, r.output
    return base / "demo"


@pytest.fixture
def demo(samples_template: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(samples_template, tmp_path / "demo", symlinks=True)
    return tmp_path / "demo" / ".dreamcli"


def _memories(home: Path) -> Path:
    d = home / "memory" / "default" / "memories"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _old(path: Path) -> None:
    os.utime(path, (YEAR_2020, YEAR_2020), follow_symlinks=False)


def _dream_files(home: Path) -> str:
    (dream_dir,) = [p for p in (home / "dreams").iterdir() if not p.name.startswith(".")]
    return "".join(p.read_text() for p in sorted(dream_dir.iterdir()))


# 1. symlinks out of the memory store ---------------------------------------------------------------

def test_read_notes_skips_file_and_directory_symlinks_leaving_the_store(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "creds.md").write_text(CREDS)
    (outside / "dir" / "more.md").write_text(CREDS)
    mem = _memories(ws.root)
    (mem / "real.md").write_text("A real note.\n")
    (mem / "sub").mkdir()
    (mem / "sub" / "inner.md").write_text("Inner note.\n")
    (mem / "creds.md").symlink_to(outside / "creds.md")
    (mem / "linked").symlink_to(outside / "dir", target_is_directory=True)
    (mem / "alias.md").symlink_to(mem / "real.md")  # a symlink even inside the store is not a note
    notes = read_notes(ws, "default")
    assert [n.path for n in notes] == ["/memories/real.md", "/memories/sub/inner.md"]
    assert all(AWS_SECRET not in n.text for n in notes)


def test_memories_directory_itself_symlinked_out_is_not_read(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "creds.md").write_text(CREDS)
    store = ws.memory_store("default")
    store.mkdir(parents=True)
    (store / "memories").symlink_to(outside, target_is_directory=True)
    assert read_notes(ws, "default") == []


def test_offline_dream_never_copies_a_symlinked_secret_into_the_proposal(demo: Path, tmp_path: Path) -> None:
    secret = tmp_path / "aws-creds.md"
    secret.write_text(CREDS)
    _old(secret)
    link = _memories(demo) / "creds.md"
    link.symlink_to(secret)
    _old(link)
    r = run("--home", str(demo), "dream", "--offline", "--json")
    assert r.exit_code == 0, r.output
    written = _dream_files(demo)
    for text in (written, r.stdout):
        assert AWS_SECRET not in text and "sk-ant-api03" not in text
        assert "/memories/creds.md" not in text


# 2. redaction always runs on proposal content ------------------------------------------------------

def test_retire_of_a_note_holding_secrets_is_redacted_and_flagged(demo: Path) -> None:
    note = _memories(demo) / "creds.md"
    note.write_text(CREDS)
    _old(note)
    r = run("--home", str(demo), "dream", "--offline", "--json")
    assert r.exit_code == 0, r.output
    written = _dream_files(demo)
    assert AWS_SECRET not in written and "sk-ant-api03" not in written
    assert AWS_SECRET not in r.stdout and "sk-ant-api03" not in r.stdout
    (dream_dir,) = [p for p in (demo / "dreams").iterdir() if not p.name.startswith(".")]
    proposal = json.loads((dream_dir / "proposal.json").read_text())
    (retire,) = [o for o in proposal["operations"] if o.get("path") == "/memories/creds.md"]
    assert retire["op"] == "retire"
    assert "[REDACTED:aws_secret_key]" in retire["old_text"] and "[REDACTED:anthropic]" in retire["old_text"]
    assert all("[REDACTED:" in ev["excerpt"] for ev in retire["evidence"])
    assert [f["rule"] for f in retire["lint"]] == ["old-secret"]
    assert "old-secret" in (dream_dir / "report.md").read_text()


def test_lint_operation_checks_the_replaced_text_only_for_secrets() -> None:
    def op(**kw: Any) -> Operation:
        return Operation(entry_id="pb-aaaaaa01", **kw)

    clean = op(op="retire", text=None, old_text="Restart the VPN on Mondays.")
    assert lint_operation(clean) == []
    (finding,) = lint_operation(op(op="retire", text=None, old_text=CREDS))
    assert finding.rule == "old-secret" and finding.severity == "warn"
    update = op(op="update", text=f"use key {ANTHROPIC_KEY}", old_text="plain")
    assert [f.rule for f in lint_operation(update)] == ["secret"]


def test_memory_ops_from_an_in_store_secret_note_carry_it_until_the_engine_redacts(tmp_path: Path) -> None:
    # memory_operations itself copies the text; the engine's redaction is what keeps it out of the proposal
    ws = Workspace(root=tmp_path / "ws", source="option")
    note = _memories(ws.root) / "creds.md"
    note.write_text(CREDS)
    _old(note)
    ops, _ = memory_operations(ws, "default", Aggregates())
    assert any(AWS_SECRET in (o.old_text or "") for o in ops)


# 3. --dry-run writes and deletes nothing -----------------------------------------------------------

def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def test_dry_run_on_a_fresh_home_writes_nothing(tmp_path: Path) -> None:
    r = run("init", str(tmp_path / "fresh"))
    assert r.exit_code == 0, r.output
    home = tmp_path / "fresh" / ".dreamcli"
    before = _snapshot(tmp_path)
    r = run("--home", str(home), "dream", "--offline", "--dry-run")
    assert r.exit_code == 0, r.output
    assert _snapshot(tmp_path) == before
    assert not (home / "state" / "logs" / "dream.log").exists()


def test_dry_run_with_samples_watermark_and_stale_temp_dir_writes_nothing(demo: Path) -> None:
    assert run("--home", str(demo), "dream", "--offline").exit_code == 0  # leaves a watermark
    stale = demo / "dreams" / ".tmp-01OLD-123"
    stale.mkdir()
    (stale / "proposal.json").write_text("{}")
    _old(stale)
    root = demo.parent
    before = _snapshot(root)
    r = run("--home", str(demo), "dream", "--offline", "--dry-run")  # nothing new
    assert r.exit_code == 0, r.output
    assert _snapshot(root) == before
    r = run("--home", str(demo), "dream", "--offline", "--dry-run", "--all")  # a full dry dream
    assert r.exit_code == 0, r.output
    assert _snapshot(root) == before
    assert stale.is_dir()


@pytest.mark.parametrize("damage", ["proposed", "recoveries", "episodes"])
def test_a_state_no_dream_wrote_is_read_as_none(demo: Path, damage: str) -> None:
    """Found by fuzzing: aggregates.json with a string where an object belongs (a copied or edited
    workspace) failed the next dream with an internal error; now the dream starts afresh."""
    import json

    from dreamcli.dream.watermark import load_aggregates
    from dreamcli.workspace.home import Workspace

    assert run("--home", str(demo), "dream", "--offline", "--all").exit_code == 0
    path = demo / "state" / "dream" / "default" / "aggregates.json"
    data = json.loads(path.read_text())
    ws = Workspace(root=demo, source="option")
    assert load_aggregates(ws, "default").to_json() == data  # what a dream wrote loads as it was written
    if damage == "proposed":
        data["proposed"] = {k: "x" for k in data["proposed"]} or {"k": "x"}
    elif damage == "recoveries":
        data["patterns"][0]["recoveries"] = "x"
    else:
        data["episodes"] = {k: ["t", "not a cost", 0, 0, None, True] for k in data["episodes"]}
    path.write_text(json.dumps(data))
    problems: list[str] = []
    assert load_aggregates(ws, "default", problems).to_json()["patterns"] == [] and len(problems) == 1
    log = demo / "state" / "logs" / "dream.log"
    lines = log.read_text().count("\n")
    assert run("--home", str(demo), "dream", "--offline", "--all", "--dry-run").exit_code == 0
    assert log.read_text().count("\n") == lines  # a dry run writes no log line
    r = run("--home", str(demo), "dream", "--offline", "--all", "--json")
    assert r.exit_code == 0, r.output
    assert "state set aside (aggregates.json: " in log.read_text()
    # and the user hears of it: a dream that read everything again is not the incremental one they ran
    assert "warning: dream state set aside (aggregates.json: " in r.stderr
    assert json.loads(r.stdout)["state_set_aside"][0].startswith("aggregates.json: ")
    seen = json.loads(path.read_text())["sessions_seen"]
    assert seen == len(list((demo / "sessions").rglob("*.jsonl")))  # every session read again, counted once
