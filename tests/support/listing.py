"""`sessions list --json` two ways, for tests that compare them: the reference (the tree, then the grades
joined, dumped whole) and the streamed listing the CLI prints."""

from __future__ import annotations

import json

from dreamcli.outcomes.grade_index import latest_grades
from dreamcli.sessions.summary import SessionFilter, apply_grades
from dreamcli.store.listing import write_json_listing
from dreamcli.store.tree import list_with_children
from dreamcli.workspace.home import Workspace


def reference_listing(ws: Workspace, flt: SessionFilter, limit: int | None) -> str:
    rows = list_with_children(ws, flt, limit)
    rows = apply_grades(rows, latest_grades(ws, [r.session_id for r in rows]))
    data = {"version": 1, "sessions": [r.to_json() for r in rows], "skipped_files": flt.skipped,
            "skipped_pilot": flt.skipped_pilot}
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def streamed_listing(ws: Workspace, flt: SessionFilter, limit: int | None) -> str:
    out: list[str] = []
    write_json_listing(ws, flt, limit, out.append)
    return "".join(out)
