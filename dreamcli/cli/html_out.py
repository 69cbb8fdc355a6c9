"""Writing the HTML pages: `playbooks diff --html FILE` (and its transcript pages) and
`sessions show --html FILE`. Data comes from the core, markup from dreamcli.ui.html_pages."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dreamcli.cli.common import print_data
from dreamcli.errors import DreamError, UsageError
from dreamcli.workspace.fsutil import check_output_file, output_error, write_output_file
from dreamcli.workspace.home import Workspace

TRANSCRIPTS_SUFFIX = "-transcripts"
# In the <head> of every page dreamcli writes (dreamcli/ui/templates): an existing file is replaced only if
# it has it, in its first bytes (the page's <head> begins with it), before `</head>`.
PAGE_MARK, _MARK_WITHIN = b'<meta name="generator" content="dreamcli">', 4096


def _check_target(target: str, what: str = "--html") -> None:
    """Refuse (exit 2, one line) an --html target that is a directory, a link or not a regular file, or a file
    that is not a page dreamcli wrote (notes.txt named by mistake): a page of ours is replaced (reviewers
    make it again every morning), an empty file too (`mktemp`), anything else is kept."""
    if target == "-":
        return
    path = Path(target)
    check_output_file(path, what)
    try:  # O_NONBLOCK: a FIFO put there since the check must not hang the command
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return
    except OSError as e:
        raise output_error(e, path, what, doing="read it to see whether dreamcli wrote it") from None
    try:
        head = os.read(fd, _MARK_WITHIN)
    except OSError as e:
        raise output_error(e, path, what, doing="read it to see whether dreamcli wrote it") from None
    finally:
        os.close(fd)
    if head and PAGE_MARK not in head.split(b"</head>", 1)[0]:
        raise UsageError(f"{what} {path}: exists and is not a page dreamcli wrote (kept: move it away, or give "
                         "another --html FILE)")


def refuse_json(target: str, as_json: bool) -> None:
    """Refuse (exit 2, one line) `--html` with `--json`, as `export -o - --json` is: one output only."""
    if as_json:
        raise UsageError("--json and --html - both want stdout; use one" if target == "-" else
                         "--json and --html FILE both choose the output (JSON, or the page in FILE); use one")


def _emit(target: str, html: str) -> None:
    if target == "-":
        print_data(html)
    else:
        _check_target(target)
        write_output_file(Path(target), html.encode("utf-8"), "--html")


def _load_transcript(ws: Workspace, session_id: str, generated: str,
                     redact: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """The transcript page's data; with `redact` (a redactor's `redact_obj`) passed through it."""
    from dreamcli.store.tree import read_session
    from dreamcli.ui.transcript_data import transcript_page

    shown = read_session(ws, session_id)
    data = transcript_page(shown.events, grades=shown.grades, children=shown.children,
                           skipped=shown.stats.skipped, generated=generated)
    return data if redact is None else redact(data)


def write_transcript_html(ws: Workspace, session_id: str, target: str) -> None:
    from dreamcli.config import workspace_redactor
    from dreamcli.timeutil import now_rfc3339
    from dreamcli.ui.html_pages import render_transcript_page

    _check_target(target)
    redact = workspace_redactor(ws.config_path).redact_obj  # today's rules, as the review's transcript pages
    _emit(target, render_transcript_page(_load_transcript(ws, session_id, now_rfc3339(), redact)))


def _page_name(session_id: str) -> str:
    """A transcript page's file name, beside the review page."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", session_id) + ".html"


def write_review_html(ws: Workspace, dreams: list[Any], target: str, *, with_transcripts: bool,
                      reviewer: dict[str, Any], prefix: str = "dreamcli") -> list[str]:
    """Write the review page (and, with transcripts, one page per evidence session beside it).
    Returns the paths written (`-` for stdout)."""
    from dreamcli.playbooks.review_page import evidence_sessions, review_page
    from dreamcli.timeutil import now_rfc3339
    from dreamcli.ui.html_pages import render_review_page, render_transcript_page

    if with_transcripts and target == "-":
        raise UsageError("--with-transcripts writes pages beside the review page: give --html FILE, not -")
    _check_target(target)  # before any transcript page is written beside it
    generated = now_rfc3339()
    written: list[str] = []
    links: dict[str, str] = {}
    if with_transcripts:
        from dreamcli.config import workspace_redactor

        # redacted as the review page's excerpts are: with today's rules, not those the log was written with
        redact = workspace_redactor(ws.config_path).redact_obj
        out = Path(target)
        folder = out.parent / f"{out.stem}{TRANSCRIPTS_SUFFIX}"
        sids = sorted(evidence_sessions(dreams))
        for sid in sids:  # a file of the user's among them stops the command before any page is written
            _check_target(str(folder / _page_name(sid)), "--with-transcripts")
        for sid in sids:
            try:
                data = _load_transcript(ws, sid, generated, redact)
            except DreamError:
                continue  # not in this workspace (e.g. pruned): its excerpts stay without a link
            path = folder / _page_name(str(data["session_id"] or sid))
            _check_target(str(path), "--with-transcripts")  # a file of the user's there is kept as --html's is
            write_output_file(path, render_transcript_page(data).encode("utf-8"), "--with-transcripts")
            links[sid] = f"{folder.name}/{path.name}"
            written.append(str(path))
    page = review_page(ws, dreams, reviewer=reviewer, generated=generated, transcripts=links, prefix=prefix)
    _emit(target, render_review_page(page))
    written.insert(0, target)
    return written
