"""Memory store operations: merge near-duplicate notes, retire stale ones, keep an index; proposed once."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.memory import INDEX_PATH, memory_operations
from dreamcli.workspace.home import Workspace

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def _note(ws: Workspace, path: str, text: str, days_old: float = 1) -> Path:
    target = ws.memory_store("default") / "memories" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    t = NOW.timestamp() - days_old * 86400
    os.utime(target, (t, t))
    return target


def test_duplicates_stale_and_index(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    _note(ws, "meds.md", "The exported medication list can be stale: trust the latest visit note.\n")
    _note(ws, "old/meds-copy.md", "Exported medication list can be stale; trust the latest visit note!\n")
    _note(ws, "ci.md", "CI logs are gzipped after a day: use zgrep.\n")
    _note(ws, "old-vpn.md", "The VPN needs a restart every Monday.\n", days_old=60)
    _note(ws, "used-but-old.md", "Keep summary.json keys in this order.\n", days_old=60)
    _note(ws, "tools.md", "pdftotext -layout keeps the tables readable.\n")
    agg = Aggregates(memory_touch={"/memories/used-but-old.md": "2026-11-20T00:00:00Z"})
    ops, notes = memory_operations(ws, "default", agg, reference=NOW)
    assert len(notes) == 6
    by = {(o.op, o.path): o for o in ops}
    merge = by[("merge", "/memories/meds.md")]  # the longer of the two is kept
    assert merge.merged_paths == ["/memories/old/meds-copy.md"] and merge.kind == "memory_duplicate"
    retire = by[("retire", "/memories/old-vpn.md")]
    assert retire.text is None and "60 days" in retire.reason
    assert ("retire", "/memories/used-but-old.md") not in by  # a session used it lately
    index = by[("create", INDEX_PATH)]
    assert "`/memories/ci.md`: CI logs are gzipped" in index.text
    assert "/memories/meds.md" in index.text
    assert "meds-copy" not in index.text and "old-vpn" not in index.text
    assert all(o.target == "memory" and o.entry_id.startswith("mem-") for o in ops)
    # once proposed, the same operations are not proposed again
    for o in ops:
        agg.proposed[o.signature] = {"entry_id": o.entry_id, "dream_id": "D", "support": 0}
    assert memory_operations(ws, "default", agg, reference=NOW)[0] == []


def test_outdated_index_is_updated_and_small_stores_get_none(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path / "ws", source="option")
    assert memory_operations(ws, "default", Aggregates())[0] == []  # no store at all
    _note(ws, "a.md", "# Alpha\nfirst note about alpha things\n")
    _note(ws, "b.md", "bravo note about different matters\n")
    assert memory_operations(ws, "default", Aggregates(), reference=NOW)[0] == []  # too few for an index
    _note(ws, "c.md", "charlie note on a third subject\n")
    _note(ws, "index.md", "# Memory index\n\n- `/memories/a.md`: Alpha\n")
    (op,) = memory_operations(ws, "default", Aggregates(), reference=NOW)[0]
    assert op.op == "update" and op.old_text.startswith("# Memory index") and "/memories/c.md" in op.text
    assert "`/memories/a.md`: Alpha" in op.text


def test_a_merge_target_is_never_retired_in_the_same_dream(tmp_path: Path) -> None:
    # approving the merge and the retirement of its target deleted every copy of the note
    ws = Workspace(root=tmp_path / "ws", source="option")
    _note(ws, "a.md", "the printer queue is slow on mondays, print early\n", days_old=60)
    _note(ws, "b.md", "the printer queue is slow on mondays, print early!\n", days_old=60)
    _note(ws, "c.md", "the printer queue is slow on mondays so print early\n", days_old=60)
    _note(ws, "vpn.md", "The VPN needs a restart every Monday.\n", days_old=60)
    ops, _ = memory_operations(ws, "default", Aggregates(), reference=NOW)
    merges = [o for o in ops if o.op == "merge"]
    retired = {o.path for o in ops if o.op == "retire"}
    assert len(merges) == 1 and merges[0].path == "/memories/c.md"  # the longest is kept
    assert merges[0].merged_paths == ["/memories/a.md", "/memories/b.md"]
    assert "/memories/c.md" not in retired and not retired & set(merges[0].merged_paths)
    assert retired == {"/memories/vpn.md"}  # other stale notes still are
    assert not any(o.path == INDEX_PATH for o in ops)  # one note stays: too few for an index


def test_no_note_merged_into_and_retired_over_the_bundled_samples(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dreamcli.cli.app import app

    home = tmp_path / "h"
    runner = CliRunner()
    assert runner.invoke(app, ["--home", str(home), "init", "--with-samples"]).exit_code == 0
    r = runner.invoke(app, ["--home", str(home), "dream", "--offline", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    dreamed = [o for o in json.loads(r.stdout)["operations"] if o.get("target") == "memory"]
    # and a dream long after the samples, when every note is stale (medication-lists.md was merged into
    # and retired), as a later dream with no session touching the store would see them
    ws = Workspace(root=home, source="option")
    later = memory_operations(ws, "default", Aggregates(), reference=datetime(2027, 6, 1, tzinfo=UTC))[0]
    for ops in (dreamed, [o.model_dump() for o in later]):
        kept = {o["path"] for o in ops if o["op"] == "merge"}
        merged_away = {p for o in ops if o["op"] == "merge" for p in o["merged_paths"]}
        retired = {o["path"] for o in ops if o["op"] == "retire"}
        assert kept == {"/memories/medical-summary/medication-lists.md"}
        assert not kept & retired and not merged_away & retired
        assert not kept & merged_away  # no chain: a note kept by one merge is not merged away by another
    assert "/memories/ci/runner-disk.md" in {o.path for o in later if o.op == "retire"}
