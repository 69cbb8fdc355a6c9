"""Memory store operations: merge near-duplicate notes, retire stale ones, keep an index; proposed once."""

from __future__ import annotations

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
