"""Issue 21: the crash-consistency suite, short version for CI (the long run is bench/torture.py).

Real `dreamcli` processes of dream, approve, revert, sessions import, bundle import and run are
SIGKILLed at every named step of their commit paths (DREAMCLI_CRASH_AT, dreamcli.faults) and at a
few fixed random moments (seeded); the invariants of dreamcli.testing.torture_checks must hold after
the next command and after the re-run. Plus a race: 8 runs, a dream and two approvals at once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dreamcli.playbooks import load_playbook
from dreamcli.playbooks.duplicates import duplicate_entries
from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.reader import read_events
from dreamcli.testing import FakeAnthropic
from dreamcli.testing.torture import STEPS, Harness, _env, plan, responder_for_runs
from dreamcli.testing.torture_checks import problems
from dreamcli.workspace.home import Workspace
from tests.support.paths import CLAUDE_CODE_SAMPLES

pytestmark = pytest.mark.slow
SEED = 21


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory):
    if not CLAUDE_CODE_SAMPLES.is_dir():
        pytest.skip(f"no Claude Code samples at {CLAUDE_CODE_SAMPLES}")
    server = FakeAnthropic().start()
    server.responder = responder_for_runs()
    server.allow_leftovers = True
    h = Harness(tmp_path_factory.mktemp("torture"), transcripts=CLAUDE_CODE_SAMPLES, fake_url=server.url)
    h.prepare()
    yield h
    server.stop()


NAMED = [(c, s) for c in STEPS for s in STEPS[c]]
RANDOM = [job for job in plan(SEED, len(NAMED) + 3, list(STEPS)) if job[1].startswith("random:")]


@pytest.mark.parametrize(("command", "how"), NAMED + RANDOM, ids=[f"{c}-{h}" for c, h in NAMED + RANDOM])
def test_kill_and_recover(harness: Harness, command: str, how: str) -> None:
    import random

    t = harness.trial(command, how, random.Random(SEED), f"{command}-{how}".replace(":", "_"))
    assert t.failures == []
    if not how.startswith("random:"):
        assert t.killed


def test_eight_runs_a_dream_and_racing_approvals_lose_nothing(harness: Harness) -> None:
    home = harness.fresh("race")
    ws = Workspace(home, "option")
    before = {p.stem for p in iter_session_files(ws)}
    pb = load_playbook(ws, "default")
    assert pb is not None
    live_before = {e.text for e in pb.entries()}
    from dreamcli.playbooks.proposals import load_dream

    pending = [o.entry_id for o in load_dream(ws, harness.dream_id).undecided() if o.op == "add"]
    assert len(pending) >= 2
    half = len(pending) // 2
    base = [sys.executable, "-m", "dreamcli", "--home", str(home)]
    approve = ["playbooks", "approve", harness.dream_id, "--force", "--yes", "--wait", "60"]
    jobs = [[*base, "run", str(harness.task), "--yes", "--quiet"] for _ in range(8)]
    jobs.append([*base, "dream", "--wait", "60"])
    jobs.append([*base, *approve, *[a for e in pending[:half] for a in ("--entry", e)]])
    jobs.append([*base, *approve, *[a for e in pending[half:] for a in ("--entry", e)]])
    procs = [subprocess.Popen(j, env=_env(home, harness.model_env()), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for j in jobs]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), [o[1][-300:] for o in outs]
    new = [p for p in iter_session_files(ws) if p.stem not in before]
    assert len(new) == 8
    for path in new:
        events, stats = read_events(path)
        assert stats.skipped == 0 and events[-1]["type"] == "session.end"
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(len(seqs)))  # no line lost or written twice
    pb = load_playbook(ws, "default")
    assert pb is not None and duplicate_entries(pb) == []
    ids = {e.id for e in pb.entries()}
    assert set(pending) <= ids and live_before <= {e.text for e in pb.entries()}
    assert problems(ws) == []
