"""Reading the lines of a JSONL transcript for the importers: each line decoded once (planning and converting
share one pass), corrupt lines and a cut-off last line counted and skipped (`LineCounts`), progress told
every few MB, and a file swapped for a symlink since it was listed refused, never followed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from dreamcli import codec
from dreamcli.workspace.fsutil import open_nofollow

SNIFF_BYTES = 65536


@dataclass
class LineCounts:
    """What happened to the lines of the transcripts read."""

    lines: int = 0
    imported: int = 0  # lines that became (part of) an event
    corrupt: int = 0  # not JSON, or not an object
    truncated: int = 0  # a cut-off last line
    malformed: int = 0  # a known line type without the fields it needs
    ignored: Counter[str] = field(default_factory=Counter)  # known types that carry nothing to import
    unknown: Counter[str] = field(default_factory=Counter)  # line types this importer does not know

    def add(self, other: LineCounts) -> None:
        for name in ("lines", "imported", "corrupt", "truncated", "malformed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.ignored.update(other.ignored)
        self.unknown.update(other.unknown)


PROGRESS_EVERY = 4 << 20
KEEP_BYTES = 16 << 20  # past the head's limits, lines kept for the converter up to this size (else read again)
_CORRUPT, _TRUNCATED, _BLANK = object(), object(), object()


class LineStream:
    """One read of a JSONL transcript: the first lines are decoded once for the header of the import
    (`head`), kept, and handed to the converter with the rest (`lines`), so planning and converting share one
    pass. Corrupt lines and a cut-off last line are counted and skipped; `progress(n)` is told about every few
    MB read. A file swapped for a symlink since it was listed is refused (OSError), never followed."""

    def __init__(self, path: Path, progress: Callable[[int], None] | None = None) -> None:
        self.path = path
        self.progress = progress
        self._f: BinaryIO | None = open_nofollow(path, 1 << 20)
        self._lineno = 0
        self._unreported = 0
        self.done = 0  # bytes reported to `progress`
        self._kept: list[tuple[int, Any]] = []  # decoded by head(), not handed out yet
        self._rewind: tuple[int, int] | None = None  # (offset, line number) to read on from, past a dropped tail

    def __enter__(self) -> LineStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
        self._report()

    def _report(self) -> None:
        if self.progress is not None and self._unreported:
            self.progress(self._unreported)
        self.done += self._unreported
        self._unreported = 0

    def _read(self) -> tuple[int, Any, int] | None:
        """(line number, decoded value or a marker, bytes) of the next line, None at the end."""
        assert self._f is not None
        raw = self._f.readline()
        if not raw:
            return None
        self._lineno += 1
        if self.progress is not None:
            self._unreported += len(raw)
        return self._lineno, _decode(raw), len(raw)

    def head(self, *, limit_bytes: int = SNIFF_BYTES, max_lines: int = 400,
             until: Callable[[dict[str, Any]], bool] | None = None, keep: bool = True) -> list[dict[str, Any]]:
        """What `head_objects` gives for this file (same limits, same `until`), decoded once: these and
        every other line read on the way are kept for `lines()` (unless `keep` is False)."""
        out: list[dict[str, Any]] = []
        found = until is None
        read = kept_past = 0
        assert self._f is not None
        while True:
            offset = self._f.tell()
            item = self._read()
            if item is None:
                break
            lineno, value, size = item
            read += size
            over = read >= limit_bytes or len(out) >= max_lines
            if value is not _BLANK:
                if isinstance(value, dict):
                    hit = not found and until is not None and until(value)
                    if not over or hit:
                        out.append(value)
                    found = found or hit
                if keep and not over:
                    self._kept.append((lineno, value))
                elif keep and self._rewind is None:
                    kept_past += size
                    if kept_past <= KEEP_BYTES:
                        self._kept.append((lineno, value))
                    else:  # too much to keep: the converter reads on from here instead
                        self._rewind = (offset, lineno - 1)
            if over and found:
                break
        return out

    def lines(self, counts: LineCounts) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, object) for every JSON-object line of the file, from the first (also those
        `head` read), once; the file is closed at the end."""
        kept, self._kept = self._kept, []
        for lineno, value in kept:
            counts.lines += 1
            if isinstance(value, dict):
                yield lineno, value
            else:
                _count_bad(value, counts)
        f = self._f
        if f is None:
            return
        if self._rewind is not None:
            f.seek(self._rewind[0])
            self._lineno = self._rewind[1]
            self._rewind = None
        loads = codec.loads_rfc8259  # msgspec; a cut emoji (lone surrogate escape) read as U+FFFD
        lineno = self._lineno
        progress = self.progress
        for raw in f:
            lineno += 1
            if progress is not None:
                self._unreported += len(raw)
                if self._unreported >= PROGRESS_EVERY:
                    self._report()
            try:
                obj = loads(raw)
            except (ValueError, RecursionError):  # not JSON, or nested deeper than Python can parse
                if not raw.strip():
                    continue
                counts.lines += 1
                _count_bad(_TRUNCATED if not raw.endswith(b"\n") else _CORRUPT, counts)
                continue
            counts.lines += 1
            if isinstance(obj, dict):
                yield lineno, obj
            else:
                counts.corrupt += 1
        self._lineno = lineno
        self.close()


def _decode(raw: bytes) -> Any:
    try:
        return codec.loads_rfc8259(raw)
    except (ValueError, RecursionError):
        if not raw.strip():
            return _BLANK
        return _CORRUPT if raw.endswith(b"\n") else _TRUNCATED


def _count_bad(value: Any, counts: LineCounts) -> None:
    if value is _TRUNCATED:
        counts.truncated += 1
    else:  # not JSON, or JSON that is not an object
        counts.corrupt += 1


def head_objects(path: Path, *, limit_bytes: int = SNIFF_BYTES, max_lines: int = 400,
                 until: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
    """The JSON objects among the first lines of a file (for headers and sniffing). With `until`, reads
    on past the limits to the first object it accepts (a transcript can open with many bookkeeping
    lines); objects past the limits other than that one are not kept."""
    with LineStream(path) as stream:
        return stream.head(limit_bytes=limit_bytes, max_lines=max_lines, until=until, keep=False)
