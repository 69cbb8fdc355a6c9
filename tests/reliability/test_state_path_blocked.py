"""A directory (or FIFO) where a dream state file belongs (a review's reproduction): the dream refuses
before it publishes, naming the path; an intent left by an older dream whose roll-forward fails is a
one-line warning, not an internal error in every later command; `doctor` names the path."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app

pytestmark = pytest.mark.usefixtures("no_model")


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def dreamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("blocked")
    assert run("init", str(base / "p"), "--with-samples").exit_code == 0
    home = base / "p" / ".dreamcli"
    assert run("--home", str(home), "dream", "--offline").exit_code == 0
    return home


@pytest.fixture
def home(dreamed: Path, tmp_path: Path) -> Path:
    shutil.copytree(dreamed, tmp_path / "home")
    return tmp_path / "home"


def _block(home: Path, kind: str = "dir") -> Path:
    wm = home / "state" / "dream" / "default" / "watermark.json"
    wm.unlink()
    if kind == "dir":
        wm.mkdir()
    else:
        os.mkfifo(wm)
    return wm


def test_the_dream_refuses_before_it_publishes(home: Path) -> None:
    wm = _block(home)
    dreams_before = sorted(p.name for p in (home / "dreams").iterdir())
    r = run("--home", str(home), "dream", "--offline", "--all")
    assert r.exit_code == 2, r.output
    assert str(wm) in r.stderr and r.stderr.count("\n") == 1 and "internal error" not in r.stderr
    assert sorted(p.name for p in (home / "dreams").iterdir()) == dreams_before
    assert not list((home / "state" / "intents").glob("*.json"))
    assert run("--home", str(home), "sessions", "list").exit_code == 0


def test_an_intent_that_cannot_roll_forward_does_not_wedge_other_commands(home: Path) -> None:
    state = home / "state" / "dream" / "default"
    staged = state / "staged-01TEST-999999"
    staged.mkdir()
    (staged / "watermark.json").write_text("{}")
    (home / "state" / "intents").mkdir(exist_ok=True)
    intent = home / "state" / "intents" / "dream-01TEST.json"
    intent.write_text(json.dumps({"playbook": "default", "dream_id": None, "staged": staged.name,
                                  "supersedes": []}))
    wm = _block(home)
    for args in (("sessions", "list"), ("config", "show"), ("playbooks", "diff")):
        r = run("--home", str(home), *args)
        assert r.exit_code == 0, (args, r.output)
        assert "internal error" not in r.stderr
        warning = [line for line in r.stderr.splitlines() if str(wm) in line]
        assert len(warning) == 1
    assert intent.exists()  # left for the dream or `doctor`


@pytest.mark.parametrize("kind", ["dir", "fifo"])
def test_doctor_names_a_blocked_state_file(home: Path, kind: str) -> None:
    wm = _block(home, kind)
    r = run("--home", str(home), "doctor", "--json")
    checks = json.loads(r.stdout)["checks"]
    state = [c for c in checks if c["name"] == "state"]
    assert state and state[0]["status"] == "fail" and str(wm) in state[0]["detail"]
