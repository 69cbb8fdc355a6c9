"""The leads no dream has read of the imported sub-agents a selection reads (`--session`, `--since`): found in the
workspace by the rule of dreamcli.sessions.lineage (`Family`, as `sessions show` finds them), so such sub-agents
are one episode with their lead, as in `--all`, even before any dream has read it.

Asked only for the transcripts the scan met no holder of and the dream's state does not hold, after the scan (no
session file is read twice). The search reads, newest first until it meets the lead: the session index's rows for
the day directories it holds unchanged (no file opened), and the first line of each file of the other days; without
an index, the first line of each file newer than the lead, so of every file when no session holds the transcript.
It writes nothing (a `--dry-run` dream leaves no trace)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from dreamcli.sessions.lineage import Day, Family, Key, Kin, Row, kin_from
from dreamcli.sessions.paths import iter_session_files
from dreamcli.workspace.home import Workspace


def find_leads(ws: Workspace, children: Mapping[Key, str]) -> dict[Key, str]:
    """The session holding each transcript of `children` ({transcript: a sub-agent naming it}), by lineage's rule
    (the last in file order), for those some session holds."""
    if not children:
        return {}
    from dreamcli.store.index import transcript_holders

    indexed = transcript_holders(ws, {(key[1], key[2]) for key in children})
    family = Family(ws) if indexed is None else Family(ws, _rows(ws, *indexed))
    found = {}
    for key, child in sorted(children.items()):
        lead = family.lead_of(Kin(child, key[1], None, None, key[2]))
        if lead is not None:
            found[key] = lead
    return found


def _rows(ws: Workspace, days: dict[str, int], holders: list[tuple[object, ...]]) -> Iterator[Row]:
    """The workspace's sessions newest first, for `Family`: a day directory unchanged since the index listed it
    (`days`) by its rows (`holders`, newest first: the only ones a lead's lookup needs), any other by its files."""
    by_day: dict[str, list[Kin]] = {}
    for rel, *values in holders:
        if (kin := kin_from(values)) is not None:
            by_day.setdefault(str(rel).rsplit("/", 1)[0], []).append(kin)
    unchanged: dict[Path, bool] = {}
    for path in iter_session_files(ws, newest_first=True):
        folder = path.parent
        day: Day = (folder.parent.parent.name, folder.parent.name, folder.name)
        if folder not in unchanged:
            unchanged[folder] = (mtime := _mtime(folder)) is not None and mtime == days.get("/".join(day))
            if unchanged[folder]:
                yield from ((day, kin) for kin in by_day.get("/".join(day), ()))
        if not unchanged[folder]:
            yield day, path


def _mtime(folder: Path) -> int | None:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return None
