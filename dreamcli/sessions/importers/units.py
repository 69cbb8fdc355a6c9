"""The unit of work of an import: a transcript file with the files of its sub-agents (a family), converted
in one read of each file. The header of a file (its session id, start, prompt) is read from the first
lines of the same pass that converts it: a parent's first lines give its session id to its children,
the children are converted, and the parent goes on with its sub-agents known. Families are found from
paths and first lines only (`link` of each format), so a unit needs nothing from any other unit and
any worker process can convert it with the same result."""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from dreamcli.errors import InputError
from dreamcli.redaction import Redactor
from dreamcli.sessions.importers.common import ChildRef, Transcript, final_path
from dreamcli.sessions.importers.context import UnitContext, UnitResult
from dreamcli.sessions.importers.grown import Stored, keep_stored, may_replace, stored_import
from dreamcli.sessions.importers.lines import LineCounts, LineStream
from dreamcli.workspace.home import Workspace

_WRITE_ONLY = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)  # errors a read never gets


@dataclass
class Node:
    """One file of a unit and the files of its sub-agents (picklable: it goes to a worker)."""

    path: Path
    size: int
    children: list[Node] = field(default_factory=list)

    def files(self) -> int:
        return 1 + sum(c.files() for c in self.children)

    def bytes(self) -> int:
        return self.size + sum(c.bytes() for c in self.children)


def forest(files: list[tuple[Path, int]], parent_of: dict[Path, Path]) -> list[Node]:
    """Nodes in file order, each child under its parent when that parent is a file of the import; the
    files of a circle of parents stand on their own."""
    nodes = {p: Node(p, size) for p, size in files}
    roots: list[Node] = []
    for p, _size in files:
        parent = parent_of.get(p)
        if parent is None or parent not in nodes or _in_circle(p, parent_of, nodes):
            roots.append(nodes[p])
        else:
            nodes[parent].children.append(nodes[p])
    return roots


def _in_circle(p: Path, parent_of: dict[Path, Path], nodes: dict[Path, Node]) -> bool:
    seen = {p}
    up = parent_of.get(p)
    while up is not None and up in nodes and up not in seen:
        seen.add(up)
        up = parent_of.get(up)
    return up == p


@dataclass
class Converter:
    """What converting a unit needs (the workspace, the staging folder, the redactor, the format)."""

    ws: Workspace
    staging: Path
    redactor: Redactor
    source: str
    fmt: ModuleType
    progress: Callable[[int], None] | None = None
    dry_run: bool = False
    _current: Path | None = None

    def unit(self, node: Node) -> list[UnitResult]:
        """Convert one unit; its results in file order (a parent before its sub-agents)."""
        results: list[UnitResult] = []
        self._current = node.path
        try:
            self._node(node, None, results)
        except OSError as err:
            if self._writing(err):  # staging the sessions failed (a full disk): not the transcript's fault
                raise
            raise InputError(f"cannot read: {err.strerror or err}", file=str(self._current)) from None
        except RecursionError:  # a line nested too deep to redact and write: refused, never an internal error
            raise InputError("a line is nested too deeply to import", file=str(self._current)) from None
        return results

    def _writing(self, err: OSError) -> bool:
        """Whether `err` came from writing into the workspace (its staging folder), not from reading the source:
        it names a file of the workspace (dreamcli.workspace.fsutil names the file a write fails on), or it is
        an error only a write gets (no space, no quota, a read-only file system)."""
        if err.errno in _WRITE_ONLY:
            return True
        name = err.filename
        if not isinstance(name, str) or self._current is None or Path(name) == self._current:
            return False
        return Path(name).is_relative_to(self.ws.root) or Path(name).is_relative_to(self.staging)

    def _node(self, node: Node, parent: Transcript | None, results: list[UnitResult]) -> Transcript | None:
        self._current = node.path
        result = UnitResult(path=str(node.path), bytes=node.size)
        results.append(result)
        with LineStream(node.path, self.progress) as stream:
            t: Transcript | None = self.fmt.transcript(node.path, node.size, self.fmt.head(stream), parent)
            result.transcript = t
            refs: list[ChildRef] = []
            for child in node.children:
                ct = self._node(child, t, results)
                if ct is not None:
                    refs.append(ChildRef(ct.session_id, ct.start_ms, ct.start_ts, ct.prompt))
            self._current = node.path
            if t is None:
                self._count_only(stream, result.counts)
                result.kind = "empty" if result.counts.lines == 0 else "without_messages"
                return None
            t.children = sorted(refs, key=lambda c: c.start_ms)
            final = final_path(self.ws, t.session_id)
            stored = stored_import(final) if final.exists() else None
            if final.exists() and (stored is None or not stored.grew(t.size)):
                # Imported before, with its inline children (they are moved in before the parent): converted
                # again only when the file grew since (a re-import, docs/importers.md). A dry run reads it all
                # the same, to report what the file holds.
                result.changed = stored is not None and stored.changed(t.size)
                stored = None
                if not self.dry_run:
                    result.existing.append(t.session_id)
                    stream.close()
                    if self.progress is not None:
                        self.progress(max(0, node.size - stream.done))
                    return t
            ctx = UnitContext(self.ws, self.staging, self.redactor, self.source, stream=stream,
                              dry_run=self.dry_run, replace=stored is not None)
            try:
                self.fmt.convert(t, ctx, result)
                ctx.finish(result)
                if stored is not None:
                    self._settle(t, stored, ctx, result)
            except BaseException:
                ctx.abort(result)
                raise
        return t

    def _settle(self, t: Transcript, stored: Stored, ctx: UnitContext, result: UnitResult) -> None:
        """A grown transcript converted again: its sessions replace the stored ones (the runner moves them in),
        or, when the stored session is neither incomplete nor the start of the new one, nothing of the
        conversion is kept and the transcript is reported as changed, as before. A dry run decides the same
        from the same staged conversion, then deletes it: `replacing` names the sessions it would replace."""
        staged = next((Path(p) for sid, p in result.staged if sid == t.session_id), None)
        final = final_path(self.ws, t.session_id)
        if staged is not None and may_replace(stored, final, staged):
            result.replaces = stored.bytes
            if self.dry_run:
                result.replacing = [sid for sid, _staged in result.staged]
                ctx.abort(result)
            return
        counts = result.counts
        ctx.abort(result)
        keep_stored(result, t.session_id)
        if self.dry_run:
            result.counts = counts  # a dry run still reports what the file holds

    def _count_only(self, stream: LineStream, counts: LineCounts) -> None:
        """The lines of a file with nothing to import: counted by name (ignored) or as unknown."""
        count_line: Callable[[dict[str, Any], LineCounts], None] | None = getattr(self.fmt, "count_line", None)
        for _lineno, obj in stream.lines(counts):
            if count_line is not None:
                count_line(obj, counts)
            else:
                kind = obj.get("type")
                counts.unknown[kind if isinstance(kind, str) else "(no type)"] += 1

