"""`playbooks diff --html` and `sessions show --html`: one self-contained, escaped, offline page.
The Chromium tests (slow) render the pages in a real headless browser."""

from __future__ import annotations

import json
import re
import stat
from html import unescape
from pathlib import Path

import pytest

from dreamcli.playbooks.pilot_file import read_pilot
from dreamcli.playbooks.review_page import word_diff
from dreamcli.sessions.paths import iter_session_files
from dreamcli.ui.html_pages import lift_bar
from dreamcli.workspace.home import Workspace
from tests.support.paths import REPO
from tests.support.playbooks import cli
from tests.support.review_html import (
    DREAM,
    chromium,
    dump_dom,
    dump_dom_url,
    external_urls,
    page_requests,
    png_colours,
    review_workspace,
    screenshot,
)


@pytest.fixture
def review_ws(ws: Workspace) -> list[str]:
    return review_workspace(ws)


def _page(ws: Workspace, tmp_path: Path, *args: str) -> tuple[Path, str]:
    out = tmp_path / "review.html"
    r = cli(ws, "playbooks", "diff", "--html", str(out), *args)
    assert r.exit_code == 0, r.output
    return out, out.read_text(encoding="utf-8")


def test_page_shows_every_operation_with_its_facts(ws: Workspace, review_ws: list[str], tmp_path: Path) -> None:
    out, html = _page(ws, tmp_path, "--reviewer", "Ana Reviewer")
    for entry_id in review_ws:
        assert f'data-entry-id="{entry_id}"' in html
        assert f"dreamcli --home {ws.root} playbooks approve {DREAM} --entry {entry_id} --yes" in html
    assert "Ana Reviewer" in html
    assert "<ins>whole contract, every annex,</ins>" in html and "<del>contract</del>" in html
    assert "error_recovery" in html and "3 sessions of 10" in html
    assert "warn length: long entry" in html and "block secret: looks like a key" in html
    assert "<li>imported-transcript</li>" in html  # the operation's taint
    assert 'class="lift"' in html and "lift +0.120, 95% interval +0.030 to +0.210, p = 0.01" in html
    # a --per-entry run: the lift of the entries together is the one that counts, for both
    assert html.count("lift +0.120, 95% interval +0.030 to +0.210, p = 0.01 (piloted with 2 entries)") == 2
    assert "(piloted with 2 entries)" in html
    assert re.search(r"<time datetime=\"20\d\d-", html)  # evidence timestamps from the session logs
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_escaping_is_total_and_nothing_leaves_the_page(ws: Workspace, review_ws: list[str], tmp_path: Path) -> None:
    _, html = _page(ws, tmp_path)
    assert "<script>document.title" not in html and "<img src=x" not in html
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;" in html
    assert "section &lt;number&gt; &amp; title" in html and "a &lt;/pre&gt; tag" in html
    assert html.count("<script") == 1  # only the page's own script
    assert external_urls(html) == []
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    policy = unescape(csp.group(1)) if csp else ""
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy


def test_stdout_and_usage(ws: Workspace, review_ws: list[str]) -> None:
    r = cli(ws, "playbooks", "diff", DREAM[:8], "--html", "-")
    assert r.exit_code == 0 and r.stdout.lstrip().startswith("<!DOCTYPE html>")
    r = cli(ws, "playbooks", "diff", "--html", "-", "--with-transcripts")
    assert r.exit_code == 2 and "--with-transcripts" in r.output
    r = cli(ws, "playbooks", "diff", "--with-transcripts")
    assert r.exit_code == 2


def test_transcript_pages_beside_the_review_page(ws: Workspace, review_ws: list[str], tmp_path: Path) -> None:
    _, html = _page(ws, tmp_path, "--with-transcripts")
    folder = tmp_path / "review-transcripts"
    pages = sorted(folder.glob("*.html"))
    assert len(pages) == 4  # the fourth evidence session of the dream is not in the workspace: no page, no link
    for p in pages:
        assert f'href="review-transcripts/{p.name}#seq-' in html
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert "01JD0Q8Z3V6M4T2N8K5R7W9XAB" in html and 'href="review-transcripts/01JD0Q8Z3V6M4T2N8K5R7W9XAB' not in html


def test_help_and_docs_name_the_folder_the_pages_are_written_to(ws: Workspace, review_ws: list[str],
                                                                tmp_path: Path) -> None:
    out = tmp_path / "review2.html"
    assert cli(ws, "playbooks", "diff", "--html", str(out), "--with-transcripts").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("review2")) == ["review2-transcripts",
                                                                                         "review2.html"]
    said = " ".join(cli(ws, "playbooks", "diff", "--help").stdout.split())
    assert "FILE-transcripts" not in said  # would be review2.html-transcripts/
    assert ("in NAME-transcripts/ beside FILE (NAME: FILE's name without its extension, e.g. review-transcripts/ "
            "for review.html)") in said
    doc = " ".join((REPO / "docs" / "audit.md").read_text(encoding="utf-8").split())
    assert "FILE-transcripts" not in doc
    assert ("writes `NAME-transcripts/<session-id>.html` beside the page, NAME being the page's file name without "
            "its extension (`--html review.html`: `review-transcripts/`)") in doc


def test_without_pilot_or_with_a_broken_pilot_file_nothing_is_drawn(ws: Workspace, tmp_path: Path) -> None:
    review_workspace(ws, pilot=False)
    _, html = _page(ws, tmp_path)
    assert 'class="lift"' not in html
    (ws.dreams_dir / DREAM / "pilot.json").write_text('{"runs": [{"lift": {"delta": "big"}}, 3, null]}')
    _, html = _page(ws, tmp_path)
    assert 'class="lift"' not in html
    (ws.dreams_dir / DREAM / "pilot.json").write_text("not json")
    _, html = _page(ws, tmp_path)
    assert 'class="lift"' not in html


def test_decided_entries_have_their_status_and_no_commands(ws: Workspace, review_ws: list[str],
                                                           tmp_path: Path) -> None:
    r = cli(ws, "playbooks", "reject", DREAM, "--entry", "pb-bbbb0001", "--reason", "no", "--yes")
    assert r.exit_code == 0, r.output
    _, html = _page(ws, tmp_path, DREAM)
    art = re.search(r'<article[^>]*data-entry-id="pb-bbbb0001".*?</article>', html, re.S)
    assert art and 'data-status="rejected"' in art.group(0) and "playbooks approve" not in art.group(0)


def test_word_diff() -> None:
    assert word_diff("a b c", "a x c") == [{"op": "same", "text": "a "}, {"op": "del", "text": "b"},
                                           {"op": "ins", "text": "x"}, {"op": "same", "text": " c"}]
    assert word_diff(None, "new") == [{"op": "ins", "text": "new"}]
    assert word_diff("old", None) == [{"op": "del", "text": "old"}]
    assert word_diff("same", "same") == [{"op": "same", "text": "same"}]


def test_read_pilot_is_defensive(tmp_path: Path) -> None:
    p = tmp_path / "pilot.json"
    assert read_pilot(p) is None
    p.write_text(json.dumps({"runs": [{"lift": {"delta": 0.1, "ci95": [0.3, -0.1], "p_value": 0.5},
                                       "entries": {"pb-x": {"delta": 0.2, "ci95": [0.1, "x"]}}}]}))
    got = read_pilot(p)
    assert got is not None and got["lift"] == {"delta": 0.1, "lo": -0.1, "hi": 0.3, "p_value": 0.5}
    assert got["entries"]["pb-x"]["lo"] is None
    p.write_text(json.dumps([{"lift": {"delta": float("1e999")}}]))
    assert read_pilot(p) is None
    bar = lift_bar({"delta": 0.1, "lo": 0.05, "hi": 0.2, "p_value": None})
    # coloured by the pilot's verdict, not by the bound alone: no McNemar p, no "helps"
    assert bar and bar["band"] and bar["sign"] == "unclear" and bar["zero"] < bar["tick"]


def test_sessions_show_html_folds_tool_calls(ws: Workspace, review_ws: list[str], tmp_path: Path) -> None:
    sid = next(iter_session_files(ws)).stem
    out = tmp_path / "t.html"
    r = cli(ws, "sessions", "show", sid, "--html", str(out))
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert sid in html and '<details class="tool">' in html and "<details open" not in html
    assert external_urls(html) == [] and html.count("<script") == 1


def test_transcript_text_is_escaped() -> None:
    from dreamcli.ui.html_pages import render_transcript_page
    from dreamcli.ui.transcript_data import transcript_page

    events = [{"type": "session.start", "session_id": "S1", "seq": 0, "ts": "2026-01-01T00:00:00Z"},
              {"type": "message", "seq": 1, "role": "user", "content": "<script>alert(1)</script>"},
              {"type": "message", "seq": 2, "role": "assistant",
               "content": [{"type": "tool_use", "id": "t1", "name": "bash", "input": {"cmd": "<b>x</b>"}}]},
              {"type": "message", "seq": 3, "role": "user",
               "content": [{"type": "tool_result", "tool_use_id": "t1", "is_error": True, "content": "</details>"}]}]
    html = render_transcript_page(transcript_page(events))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert "&lt;/details&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html


# --- in a real browser ------------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(chromium() is None, reason="chromium is not installed (Debian: apt-get install "
                                    "chromium; .ci/run installs it when it runs as root)")


@pytest.mark.slow
@needs_chromium
def test_chromium_renders_every_entry_and_runs_no_injected_script(ws: Workspace, review_ws: list[str],
                                                                   tmp_path: Path) -> None:
    out, _ = _page(ws, tmp_path, "--with-transcripts")
    dom = dump_dom(out)
    for entry_id in review_ws:
        assert f'data-entry-id="{entry_id}"' in dom
    assert 'data-ready="1"' in dom  # the page's own script ran (allowed by its hash)
    assert "PWNED" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)  # type: ignore[union-attr]
    assert "data-pwned" not in dom.replace("setAttribute(&#39;data-pwned", "").replace(
        "setAttribute('data-pwned", "")
    assert "&lt;script&gt;document.title" in dom
    transcript = next((tmp_path / "review-transcripts").glob("*.html"))
    tdom = dump_dom(transcript)
    assert 'data-ready="1"' in tdom and "<details" in tdom


@pytest.mark.slow
@needs_chromium
def test_chromium_screenshot_is_not_blank(ws: Workspace, review_ws: list[str], tmp_path: Path) -> None:
    out, _ = _page(ws, tmp_path)
    png = screenshot(out, tmp_path / "page.png", width=1280, height=1400)
    assert png_colours(png) > 20


def test_every_evidence_line_has_an_anchor_in_its_transcript() -> None:
    from dreamcli.ui.html_pages import render_transcript_page
    from dreamcli.ui.transcript_data import transcript_page

    events = [{"type": "session.start", "session_id": "S1", "seq": 0},
              {"type": "message", "seq": 1, "role": "assistant",
               "content": [{"type": "tool_use", "id": "t1", "name": "read", "input": {}}]},
              {"type": "tool", "seq": 2, "tool_use_id": "t1", "name": "read", "duration_ms": 3.0},
              {"type": "message", "seq": 3, "role": "user",
               "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "binary file"}]}]
    html = render_transcript_page(transcript_page(events))
    for seq in (1, 2, 3):
        assert f'id="seq-{seq}"' in html
    assert html.count('<details class="tool">') == 1 and "binary file" in html


@pytest.mark.slow
@needs_chromium
def test_chromium_filters_by_kind_and_status(ws: Workspace, review_ws: list[str], tmp_path: Path) -> None:
    out, _ = _page(ws, tmp_path)
    dom = dump_dom_url(out.resolve().as_uri() + "?kind=harmful&status=pending")
    shown = re.findall(r'<article class="op"[^>]*data-entry-id="([^"]+)"(?![^>]*hidden)[^>]*>', dom)
    assert shown == ["pb-aaaa0002"], shown
    assert '<span id="shown-count">1</span>' in dom


@pytest.mark.slow
@needs_chromium
def test_chromium_sees_no_request_leave_the_page(ws: Workspace, review_ws: list[str], tmp_path: Path) -> None:
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><img src="http://example.invalid/x.png">')
    assert page_requests(control, tmp_path / "control.json") == ["http://example.invalid/x.png"]  # it would see one
    out, _ = _page(ws, tmp_path, "--with-transcripts")
    assert page_requests(out, tmp_path / "net.json") == []
    transcript = next((tmp_path / "review-transcripts").glob("*.html"))
    assert page_requests(transcript, tmp_path / "net-t.json") == []
