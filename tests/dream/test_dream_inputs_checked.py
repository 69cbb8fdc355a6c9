"""`dreamcli dream` refuses bad input with one line and exit 2 before it reads or moves anything: empty
selectors, --all with a selection, a memory store that is not a store name, --instructions @FILE that is
not a small UTF-8 regular file, --wait that is not a number of seconds, --workers past its cap. And it never hangs on a
FIFO planted where its state or grades belong (the dream lock would stay held)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.lock import workspace_lock

pytestmark = pytest.mark.usefixtures("no_model")  # dreams run offline


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)



def _one_line_2(r, *words: str) -> None:
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    for word in words:
        assert word in r.stderr, r.stderr


def _untouched(home: Path) -> None:
    assert not (home / "dreams").is_dir() or list((home / "dreams").iterdir()) == []
    assert not (home / "state" / "dream" / "default" / "watermark.json").exists()


@pytest.mark.parametrize("option", ["--task", "--since", "--playbook", "--memory-store", "--session"])
def test_empty_selectors_are_refused(demo: Path, option: str) -> None:
    # `--task ''` read nothing and still moved the watermark past every session
    _one_line_2(run("--home", str(demo), "dream", "--offline", option, ""), option)
    _untouched(demo)


def test_empty_task_is_an_explicit_selection() -> None:
    from dreamcli.dream.options import DreamOptions

    assert DreamOptions(task="").mode == "explicit"  # never "new", which moves the watermark


@pytest.mark.parametrize("selection", [["--task", "deploy"], ["--since", "7d"], ["--session", "01"]])
def test_all_with_a_selection_is_refused(demo: Path, selection: list[str]) -> None:
    # `--all --task X` was a whole dream over one task's sessions: it saved that part as the whole state
    # (every other task's patterns and an untrusted state's held proposals gone) and moved the watermark
    _one_line_2(run("--home", str(demo), "dream", "--offline", "--all", *selection), "--all", selection[0])
    _untouched(demo)


def test_all_with_a_selection_is_refused_by_the_engine_too() -> None:
    from dreamcli.dream.options import DreamOptions

    with pytest.raises(ValueError, match="--all"):
        DreamOptions(all=True, task="deploy")


@pytest.mark.parametrize("store", ["/tmp", "../..", "..", ".hidden", "a/b"])
def test_memory_store_must_be_a_store_name(demo: Path, tmp_path: Path, store: str) -> None:
    outside = tmp_path / "outside" / "memories"
    outside.mkdir(parents=True)
    (outside / "n1.md").write_text("note about the printer\n")
    name = str(tmp_path / "outside") if store == "/tmp" else store
    _one_line_2(run("--home", str(demo), "dream", "--offline", "--memory-store", name), "--memory-store")
    _untouched(demo)


def test_a_store_whose_index_leads_out_is_a_name_not_a_usage_error(demo: Path, tmp_path: Path) -> None:
    # a valid name whose index a symlink leads out of the store: read as an empty store (approval refuses
    # to write there), not refused as a bad name; told apart by the error's type, not by its words
    from dreamcli.dream.memory import INDEX_PATH, check_store_name
    from dreamcli.playbooks.apply import LeavesStore, memory_path

    ws = Workspace(root=demo, source="option")
    secret = tmp_path / "elsewhere.md"
    secret.write_text("not a note\n")
    root = ws.memories_root("linked")
    root.mkdir(parents=True)
    root.joinpath(*INDEX_PATH.split("/")[2:]).symlink_to(secret)
    with pytest.raises(LeavesStore):
        memory_path(ws, "linked", INDEX_PATH)
    assert check_store_name(ws, "linked") == "linked"
    with pytest.raises(ValueError) as bad:
        memory_path(ws, ".linked", INDEX_PATH)
    assert not isinstance(bad.value, LeavesStore)


def test_memory_store_checked_by_the_engine_too(demo: Path) -> None:
    from dreamcli.config import Config
    from dreamcli.dream.engine import DreamOptions, run_dream
    from dreamcli.errors import UsageError

    ws = Workspace(root=demo, source="option")
    with pytest.raises(UsageError, match="memory"):
        run_dream(ws, Config(), DreamOptions(offline=True, memory_store="../.."))


def test_instructions_file_must_be_small_utf8_and_regular(demo: Path, tmp_path: Path) -> None:
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(b"caf\xe9")
    _one_line_2(run("--home", str(demo), "dream", "--offline", "--instructions", f"@{latin}"), "UTF-8")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 10_000_000)
    _one_line_2(run("--home", str(demo), "dream", "--offline", "--instructions", f"@{big}"), "4096")
    _one_line_2(run("--home", str(demo), "dream", "--offline", "--instructions", "@/dev/zero"), "regular file")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    _one_line_2(run("--home", str(demo), "dream", "--offline", "--instructions", f"@{fifo}"), "regular file")
    _one_line_2(run("--home", str(demo), "dream", "--offline", "--instructions", f"@{tmp_path}"), "regular file")
    # 4,096 four-byte characters fit; one more does not
    ok = tmp_path / "ok.txt"
    ok.write_text("\U0001f600" * 4096, encoding="utf-8")
    r = run("--home", str(demo), "dream", "--offline", "--dry-run", "--instructions", f"@{ok}")
    assert r.exit_code == 0, r.output
    ok.write_text("\U0001f600" * 4097, encoding="utf-8")
    _one_line_2(run("--home", str(demo), "dream", "--offline", "--instructions", f"@{ok}"), "4096")
    _untouched(demo)


@pytest.mark.parametrize("value", ["nan", "-2", "-inf", "inf", "-0.5"])
def test_wait_must_be_seconds_or_minus_one(demo: Path, value: str) -> None:
    with workspace_lock(Workspace(root=demo, source="option"), "dream"):
        r = run("--home", str(demo), "dream", "--offline", f"--wait={value}")
    _one_line_2(r, "--wait")


def test_wait_zero_and_minus_one_still_accepted(demo: Path) -> None:
    with workspace_lock(Workspace(root=demo, source="option"), "dream"):
        assert run("--home", str(demo), "dream", "--offline", "--wait", "0").exit_code == 75
    assert run("--home", str(demo), "dream", "--offline", "--dry-run", "--wait=-1").exit_code == 0


def test_workers_are_capped(demo: Path) -> None:
    r = run("--home", str(demo), "dream", "--offline", "--workers", "100000")
    assert r.exit_code == 2 and "--workers" in r.stderr
    _untouched(demo)


# ---- FIFOs where the dream reads: run in a child process, so a hang fails instead of blocking the suite


def _dream_child(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "DREAMCLI_HOME")}
    try:
        cmd = [sys.executable, "-m", "dreamcli", "--home", str(home), "dream", "--offline", "--json", *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("dream hung on a FIFO (holding the dream lock)")


def _child(code: str, home: Path) -> str:
    try:
        r = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                            "from dreamcli.workspace.home import Workspace; "
                            "ws = Workspace(root=Path(sys.argv[1]), source='option'); " + code, str(home)],
                           capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("hung on a FIFO")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.parametrize("name", ["watermark.json", "aggregates.json"])
def test_fifo_state_file_is_set_aside(demo: Path, name: str) -> None:
    state = demo / "state" / "dream" / "default"
    state.mkdir(parents=True)
    os.mkfifo(state / name)
    out = _child("from dreamcli.dream.watermark import load_aggregates, load_watermark; problems = []; "
                 "load_watermark(ws, 'default', problems); load_aggregates(ws, 'default', problems); "
                 "print(problems)", demo)
    assert f"'{name}: not a regular file" in out and out.count("regular file") == 1
    # the cron fast path answers at once: the full dream decides
    assert _child("from dreamcli.dream import quick; print(quick.nothing_new(ws, 'default'))", demo) == "False"


@pytest.mark.parametrize("name", ["watermark.json", "aggregates.json"])
def test_fifo_state_file_never_hangs_the_dream(demo: Path, name: str) -> None:
    assert run("--home", str(demo), "dream", "--offline").exit_code == 0
    state = demo / "state" / "dream" / "default"
    (state / name).unlink()
    os.mkfifo(state / name)
    r = _dream_child(demo, "--all")  # the full dream: the cron fast path reads no aggregates
    # read past (set aside), then refused before anything is published: its new state could not replace it
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.count("error: ") == 1 and str(state / name) in r.stderr and "internal error" not in r.stderr
    assert len(list((demo / "dreams").iterdir())) == 1
    with workspace_lock(Workspace(root=demo, source="option"), "dream", wait=0):  # released
        pass


def test_fifo_grades_file_is_a_one_line_error(demo: Path) -> None:
    grades = demo / "grades" / "grades.jsonl"
    grades.unlink(missing_ok=True)
    os.mkfifo(grades)
    r = _dream_child(demo)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and "grades.jsonl" in r.stderr
    assert "regular file" in r.stderr
    assert not (demo / "state" / "dream" / "default" / "watermark.json").exists()
    with workspace_lock(Workspace(root=demo, source="option"), "dream", wait=0):  # released
        pass
