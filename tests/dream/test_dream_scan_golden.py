"""The dream's scan reads a corpus exactly as it did before its fast paths (issue 22): the same scan
state (every pattern, episode, cost record, session detail and read statistic) and the same proposal,
byte for byte, with 1 worker and with 2 (a process pool sharing the chunks with this process).

`data/scan-corpus.tar.gz` is a workspace of 93 sessions: 40 synthetic ones (seed 11), the learning
scenarios (`Builder(seed=4)`: ESM and venv fixes, flaky tests, corrections, imported corrections,
product messages, injections, polling, quoted errors), the Claude Code and Codex fidelity transcripts
imported, and one hand-written session of edge lines (a result with nested content blocks, spaced JSON,
results mixed with text, a failed tool event, a truncated tool output, a line with a wrong type, broken
JSON, a truncated last line). The fingerprints below were taken with the scanner as it was before
(commit 85b0df7), which parsed every line but successful tool results in full, and retaken once on
purpose each time the scan was meant to read differently:
- a follow-up that dictates the literal reply ('Reply exactly "Continuation verified."', in the fixture
  captures) stopped counting as a correction (issue 23: noise on real transcripts);
- every line is decoded once into a typed event (`dreamcli.dream.lines`) and the reader has the last
  word: the broken JSON line that looked like successful results is corrupt (it was half-read by byte
  tests), and a message of successful results moves the session's clock like any other line (flaky,
  pass and memory patterns are seen at that message's time, not the tool event's before it);
- the proposal (not the scan state) changed once for a defect it recorded: it merged
  `/memories/medical/med-list-is-stale.md` into `/memories/medical-summary/medication-lists.md` and
  also retired `medication-lists.md` (approving both deleted every copy); a merge target is never
  retired in the same dream now, so that one `retire` operation is gone and nothing else changed;
- the script an interpreter runs is no longer made generic like the documents the error was about: the
  examples `python /workspace/FILE.py` and `python FILE.py exports/FILE.csv` (and the entry built on the
  latter) read `python /workspace/number_generator.py` and `python load.py exports/FILE.csv`, a command
  that can be run (review-dream defect 7); nothing else changed;
- a recovery keeps the line of the call that fixed the error (up to 3, one per episode) and a run's
  failing criteria the line of their `outcome.evaluation` (review-dream defects 8 and 9): in the
  proposal, each of the 6 workaround entries gets one more evidence item, "the fix: …" with its
  session and line, right after the failure of the same session; nothing else changed;
- dream.json's `inputs` counts the session files skipped as unreadable (`"unreadable": 0` here);
  nothing else changed;
- dream.json's `stats` counts the candidates that recurred but were not proposed, by reason
  (`"not_proposed": {"injection": 1}` here); nothing else changed;
- a host is not a file (acceptance finding, hosts as FILE.ext): the two recoveries that fetch
  `https://get.evil.example/fix.sh` are keyed `https://get.evil.example/<file.sh>`, not `https:<file.sh>`;
  the scan state changed by those two keys only, the proposal not at all;
- report.md counts the patterns held back under its summary when the dream proposes something too:
  one line, "1 pattern recurred but was not proposed (1 injection-like).", after "**Proposed:** …";
  nothing else changed;
- a host in a template is `<host>`, so the same error on two hosts is one pattern (review-dream defect 3):
  the two recoveries keyed on `https://get.evil.example/<file.sh>` are keyed `https://<host>/<file.sh>`;
  the scan state changed by those two keys only, the proposal not at all;
- dream.json's `stats` counts the batches of candidates sent to the model, of which `model_fallbacks`
  fell back to templates (`"model_batches": 0` here, offline); nothing else changed;
- the scan state gains the key `transcripts`: the session holding each imported transcript (19 of the
  corpus's sessions are imported), which a later dream needs to link a sub-agent imported after its lead to
  it (`import.parent_source_id`, docs/multi-agent.md) without reading the workspace again; without that key
  the state hashes to the fingerprint before (175c726e…), and the proposal did not change."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dreamcli.config import Config
from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.executors import LocalExecutor, use_executor
from dreamcli.dream.scan import scan_files
from dreamcli.dream.selection import PlaybookScope
from dreamcli.workspace.home import Workspace

CORPUS = Path(__file__).parent / "data" / "scan-corpus.tar.gz"
NOW = datetime(2027, 6, 1, tzinfo=UTC)
EXPECTED = {"state": "dcb14a69d32f4e0627df809770190f622739c100b8b75f4ec88647727dec5b9d",
            "proposal": "6d7ffd43a69311af091dd3dfc338c949d50a82bf00714c3a13fe4d4762bc0d3f",
            "lines": 2212, "bytes": 948409}


def unpack(dest: Path) -> Path:
    with tarfile.open(CORPUS) as tar:
        tar.extractall(dest, filter="data")
    return dest


def scan_state(home: Path, workers: int) -> tuple[str, list[int]]:
    """Everything the scan produced, as canonical JSON (sets sorted)."""
    files = sorted(str(p) for p in (home / "sessions").rglob("*.jsonl"))
    agg = Aggregates()
    with use_executor(LocalExecutor(workers)):
        read, stats = scan_files(files, agg, playbook="default", scope=PlaybookScope("default"), now=NOW)
    state = agg.to_json()
    for p in state["patterns"]:
        p["episodes"] = sorted(p["episodes"])
    state["patterns"].sort(key=lambda p: p["key"])
    infos = {k: [v.session_id, v.episode, v.task, v.entry_ids, v.last_ts, v.evaluations, v.deferred, v.skipped,
                 v.hidden] for k, v in sorted(read.infos.items())}
    counts = [stats.lines, stats.events, stats.corrupt, stats.truncated, stats.unsupported, stats.bytes]
    text = json.dumps({"agg": state, "infos": infos, "ids": sorted(read.ids), "episodes": sorted(read.episodes),
                       "deferred": read.deferred, "oos": read.out_of_scope, "latest": read.latest,
                       "hidden": read.hidden, "stats": counts}, sort_keys=True, default=str)
    return text, counts


def proposal_text(home: Path, workers: int) -> str:
    """The offline dream's files, with what differs between any two dreams masked (its id, clock, new ids)."""
    with use_executor(LocalExecutor(workers)):
        result = run_dream(Workspace(root=home, source="env"), Config(), DreamOptions(offline=True, now=NOW))
    assert result.path is not None and result.dream_id
    files = {}
    for f in sorted(result.path.rglob("*")):
        if f.is_file():
            data = f.read_text().replace(result.dream_id, "DREAM")
            data = re.sub(r'"(duration_s|created)": ("[^"]*"|[0-9.]+)', r'"\1": 0', data)
            files[f.name] = re.sub(r"no model\) on [0-9T:.Z-]+", "no model) on NOW", data)
    seen: dict[str, str] = {}
    blob = json.dumps(files, sort_keys=True)
    return re.sub(r"(?:pb|mem)-[0-9a-z]{8}", lambda m: seen.setdefault(m.group(0), f"id-{len(seen)}"), blob)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_scan_and_the_proposal_are_the_same_as_before(tmp_path: Path, workers: int) -> None:
    home = unpack(tmp_path / "home")
    state, counts = scan_state(home, workers)
    assert counts[0] == EXPECTED["lines"] and counts[-1] == EXPECTED["bytes"]
    # the wrong-typed tool line and the broken JSON line are corrupt, the last line truncated
    assert counts[1:4] == [2209, 2, 1]
    assert _sha(state) == EXPECTED["state"]
    proposal = proposal_text(home, workers)
    assert '"op": "add"' in proposal.replace('\\"', '"')
    assert _sha(proposal) == EXPECTED["proposal"]


def test_one_worker_and_two_agree_on_a_corpus_of_many_chunks(tmp_path: Path) -> None:
    """Beyond the fingerprints: 1 and 2 workers give the same state on the same files (two copies)."""
    one = unpack(tmp_path / "one")
    two = shutil.copytree(one, tmp_path / "two")
    assert scan_state(one, 1)[0].replace(str(one), "HOME") == scan_state(two, 2)[0].replace(str(two), "HOME")



def test_one_worker_told_so_reads_no_sizes_unless_it_shows_progress(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Sizes decide the workers and balance chunks: `--workers 1` without progress skips the stat per file."""
    from dreamcli.dream import scan

    home = unpack(tmp_path / "home")
    files = sorted(str(p) for p in (home / "sessions").rglob("*.jsonl"))
    stats: list[object] = []
    monkeypatch.setattr(scan, "source_size", lambda p: stats.append(p) or 1)
    with use_executor(LocalExecutor(1)):
        read, _ = scan_files(files, Aggregates(), playbook="default", scope=PlaybookScope("default"), now=NOW)
        assert len(read.ids) == 93 and stats == []
        scan_files(files, Aggregates(), playbook="default", scope=PlaybookScope("default"), now=NOW,
                   progress=lambda *a: None)
    assert len(stats) == len(files)
