"""Playbook format (docs/playbook-format.md): byte-identical round trips, hand edits, malformed files refused."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dreamcli.errors import InputError
from dreamcli.playbooks import (
    Entry,
    new_playbook,
    normalize_text,
    parse_playbook,
    render_playbook,
    token_estimate,
)
from tests.support.paths import REPO

DOC_EXAMPLE = (REPO / "docs" / "playbook-format.md").read_text(
    encoding="utf-8").split("```markdown\n")[1].split("```")[0]

# ---- generators --------------------------------------------------------------------------------

_word_chars = st.characters(whitelist_categories=("L", "N", "P", "S", "Zs"), blacklist_characters="\u2028\u2029")
_line = st.text(_word_chars, min_size=1, max_size=40).map(str.strip).filter(
    lambda s: bool(s) and not s.startswith("<!-- dc:"))
entry_text = st.lists(_line, min_size=1, max_size=4).map("\n".join)
def _base36(n: int, width: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


# integers mapped to ids: much cheaper to generate than from_regex, same shapes
entry_ids = st.builds(lambda p, n, w: f"{p}-{_base36(n, w)}", st.sampled_from(["pb", "mem", "lx"]),
                      st.integers(0, 36**6 - 1), st.integers(6, 12))
session_ids = st.integers(0, 10**12).map(lambda n: f"01JD{n:022d}")
dates = st.dates().map(lambda d: d.isoformat())
safe_str = st.text(st.characters(whitelist_categories=("L", "N", "Zs"), max_codepoint=0x2FF), max_size=30)
section_titles = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=15)


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    return Entry(
        id=draw(entry_ids), text=draw(entry_text), helpful=draw(st.integers(0, 500)),
        harmful=draw(st.integers(0, 500)), sources=draw(st.lists(session_ids, max_size=20)),
        first_seen=draw(st.none() | dates), last_seen=draw(st.none() | dates),
    )


@st.composite
def playbooks(draw: st.DrawFn):
    pb = new_playbook(draw(st.sampled_from(["legal", "ci", "support-2"])), description=draw(safe_str),
                      scope={"tasks": draw(st.lists(st.sampled_from(["a", "b-c", "review"]), max_size=3))})
    pb.version = draw(st.integers(0, 10_000))
    pb.updated = draw(st.none() | st.just("2026-11-20T10:00:00Z"))
    used: set[str] = set()
    for _ in range(draw(st.integers(0, 8))):
        e = draw(entries())
        if e.id in used:
            continue
        used.add(e.id)
        pb.add_entry(e, draw(section_titles))
    return pb


def _same(a, b) -> None:
    assert a.meta == b.meta
    assert [e.to_dict() for e in a.entries()] == [e.to_dict() for e in b.entries()]
    assert a.sections == b.sections


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(playbooks())
def test_parse_render_round_trip(pb) -> None:
    text = render_playbook(pb)
    again = parse_playbook(text)
    _same(pb, again)
    assert render_playbook(again) == text


# Free-form files as people write them: prose, stray bullets, code fences, CRLF, odd spacing,
# entries with and without metadata, missing final newline.
_prose = st.sampled_from([
    "", "Some prose about the playbook.", "- a plain bullet without an id", "- [ ] a task item",
    "### A subheading", "> a quote", "```", "- [pb-inside1] in a fence maybe", "    indented code",
    "Trailing spaces   ", "[link](http://x)", "<!-- an ordinary comment -->",
])


@st.composite
def file_texts(draw: st.DrawFn) -> str:
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    lines = ["---", "name: hand", f"version: {draw(st.integers(0, 99))}", "updated: 2026-11-20T10:00:00Z",
             "description: " + draw(st.sampled_from(["x", "'quoted: yes'", "a  b"])), "scope:",
             "  tasks: [a, b]", "---", "", "# hand"]
    used: set[str] = set()
    in_fence = False
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["prose", "section", "entry", "entry"]))
        if kind == "prose":
            line = draw(_prose)
            if line.startswith("- [pb-") and not in_fence:
                continue  # only inside a fence: there it is text, not an entry
            if line.startswith(" ") and lines[-1].startswith(("- [", "  ")):
                lines.append("")  # an indented line right after an entry would continue it
            if line == "```":
                in_fence = not in_fence
            lines.append(line)
        elif kind == "section":
            lines.append("## " + draw(section_titles))
        elif not in_fence:
            e = draw(entries())
            if e.id in used:
                continue
            used.add(e.id)
            text_lines = e.text.split("\n")
            lines.append(f"- [{e.id}]" + draw(st.sampled_from([" ", " "])) + text_lines[0])
            lines.extend("  " + ln + draw(st.sampled_from(["", "  "])) for ln in text_lines[1:])
            if draw(st.booleans()):
                lines.append(f"  <!-- dc: helpful={e.helpful}  harmful={e.harmful} sources={','.join(e.sources)}"
                             f" custom=keep -->")
    if in_fence:
        lines.append("```")
    text = eol.join(lines)
    return text + (eol if draw(st.booleans()) else "")


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file_texts())
def test_render_of_parse_is_byte_identical(text: str) -> None:
    pb = parse_playbook(text)
    assert render_playbook(pb) == text


def test_doc_example_round_trips_and_reads_fields() -> None:
    pb = parse_playbook(DOC_EXAMPLE)
    assert render_playbook(pb) == DOC_EXAMPLE
    assert (pb.name, pb.version, pb.updated) == ("legal", 3, "2026-11-20T10:00:00Z")
    assert pb.scope == {"tasks": ["contract-review"], "tags": ["legal"]}
    assert pb.sections == ["Tool workarounds", "Corrections"]
    first = pb.find("pb-3f9k2xab")
    assert first is not None and first.section == "Tool workarounds"
    assert first.text.startswith("When `read` fails") and "\n(`pandoc" in first.text
    assert (first.helpful, first.harmful, first.first_seen, first.last_seen) == (7, 0, "2026-11-01", "2026-11-20")
    assert first.sources == ["01JD0Q8Z3V6M4T2N8K5R7W9XAB", "01JD0QA2B3C4D5E6F7G8H9J0KM"]
    assert [e.id for e in pb.entries()] == ["pb-3f9k2xab", "pb-8m2k4q1z"]
    assert 0 < token_estimate(pb) < len(DOC_EXAMPLE)


def test_changing_one_entry_leaves_every_other_byte_alone() -> None:
    hand = DOC_EXAMPLE.replace("never by page.", "never by page (hand edit).  ")
    pb = parse_playbook(hand)
    pb.find("pb-3f9k2xab").helpful += 1
    pb.version = 4
    out = render_playbook(pb)
    assert "never by page (hand edit).  \n" in out
    assert "helpful=8" in out and "version: 4\n" in out
    assert out.replace("helpful=8", "helpful=7").replace("version: 4", "version: 3") == hand


def test_sources_are_capped_at_twenty_in_the_file() -> None:
    pb = new_playbook("cap")
    pb.add_entry(Entry(id="pb-cap00001", text="x", sources=[f"S{i:02d}" for i in range(30)]), "A")
    out = render_playbook(pb)
    assert parse_playbook(out).find("pb-cap00001").sources == [f"S{i:02d}" for i in range(20)]


def test_normalize_text_drops_blank_lines_and_trailing_space() -> None:
    assert normalize_text("  a  \n\n b\r\n") == "a\n b"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("# no front matter\n", 1, "front matter"),
        ("---\nname: x\nversion: 1\n", 1, "not closed"),
        ("---\nname: x\nversion: [1\n---\n", 4, "invalid YAML"),
        ("---\nname: x\nversion: one\n---\n", 3, "version"),
        ("---\nversion: 1\n---\n", 2, "name"),
        ("---\nname: x\nversion: 1\n---\n## S\n- [PB-BAD01] text\n", 6, "invalid entry id"),
        ("---\nname: x\nversion: 1\n---\n- [pb-aaaaaa] a\n- [pb-aaaaaa] b\n", 6, "duplicate"),
        ("---\nname: x\nversion: 1\n---\n- [pb-aaaaaa] a\n  <!-- dc: helpful=x -->\n", 6, "helpful"),
        # digits to str.isdigit(), not to int(): `²` raised ValueError; `٣` read as 3
        ("---\nname: x\nversion: 1\n---\n- [pb-aaaaaa] a\n  <!-- dc: helpful=\u00b2 -->\n", 6, "helpful"),
        ("---\nname: x\nversion: 1\n---\n- [pb-aaaaaa] a\n  <!-- dc: harmful=\u0663 -->\n", 6, "harmful"),
        ("---\nname: x\nversion: 1\n---\n- [pb-aaaaaa] a\n  <!-- dc: helpful=" + "9" * 5000 + " -->\n", 6,
         "at most 18 digits"),
        ("---\nname: x\nversion: 1\n---\n- [pb-aaaaaa] a\n  <!-- dc: helpful=1\n", 6, "not closed"),
        ("---\nname: x\nversion: 1\n---\n- [pb-aaaaaa] a\n  <!-- dc: oops -->\n", 6, "key=value"),
        ("---\nname: x\nversion: 1\n---\n- [pb-aaaaaa] a\n  <!-- dc: helpful=1 -->\n  more\n", 6, "last line"),
        ("---\nname: x\nversion: 1\n---\n\n<!-- dc: helpful=1 -->\n", 6, "outside an entry"),
        ("---\nname: x\nversion: 1\n---\n- [pb-aaaaaa]\n", 5, "no text"),
    ],
)
def test_malformed_files_are_refused_with_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(InputError) as info:
        parse_playbook(text, file="playbooks/x.md")
    assert info.value.line == line
    assert info.value.file == "playbooks/x.md"
    assert reason in str(info.value)
    assert str(info.value).startswith(f"playbooks/x.md:{line}: ")
