"""ASCII prose wraps as it did before the wrapper measured cells and broke CJK text (issue: a paragraph
indented deeper than its first word leaves room for, `wrap("            deeply_nested_call(x)", 30,
indent="  ")`, kept its twelve blanks and printed 35 columns at 30; textwrap, which the wrapper used
before, left them out). The reference is that textwrap-based `wrap`, as dreamcli.ui.prose had it,
compared on a few thousand generated paragraphs."""

from __future__ import annotations

import random
import re
import textwrap

from dreamcli.ui.prose import CODE_SPAN, wrap


def _old_wrap(text: str, width: int, *, indent: str = "", hanging: str | None = None) -> list[str]:
    """dreamcli.ui.prose.wrap before the wrapper measured cells: a code span that fits glued whole, then
    textwrap."""
    rest = indent if hanging is None else hanging
    room = width - max(len(indent), len(rest))
    spans = [m for m in re.finditer(CODE_SPAN, text) if " " in m.group() and len(m.group()) <= room]
    glue = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text) if spans else ""
    if glue:
        parts, at = [], 0
        for m in spans:
            parts += [text[at:m.start()], m.group().replace(" ", glue)]
            at = m.end()
        text = "".join(parts) + text[at:]
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(para, width=width, initial_indent=indent, subsequent_indent=rest,
                                   break_long_words=False, break_on_hyphens=False, drop_whitespace=True)
                     or [""])
    return [line.replace(glue, " ") for line in lines] if glue else lines


def _word(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.1:
        return "`" + " ".join(_word(rng) for _ in range(rng.randint(1, 4))).replace("`", "") + "`"
    if kind < 0.2:
        return rng.choice(["deeply_nested_call(x)", "/home/legal/matters/msa-2024.docx", "pb-3f9k2xab",
                           "contract-review-emea-q3-renewals", "https://example.com/a/b?c=d", "--dry-run"])
    length = rng.choice([1, 2, 3, 5, 8, 13, 21, 34, 55])
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789.,;:-_/()'\"") for _ in range(length))


def _paragraph(rng: random.Random) -> str:
    lead = " " * rng.choice([0, 0, 1, 2, 4, 8, 12, 20, 30, 45])
    words = [_word(rng) for _ in range(rng.randint(1, 18))]
    gaps = [" " * rng.choice([1, 1, 1, 1, 2, 3]) for _ in words]
    text = lead + "".join(w + g for w, g in zip(words, gaps, strict=True)).rstrip(" ")
    return text + (" " * rng.randint(1, 3) if rng.random() < 0.1 else "")


def test_ascii_paragraphs_wrap_as_textwrap_wrapped_them() -> None:
    rng = random.Random(20)
    differ = []
    for _ in range(3000):
        text = "\n".join(_paragraph(rng) for _ in range(rng.choice([1, 1, 1, 2, 3])))
        width = rng.choice([20, 24, 30, 40, 60, 80])
        indent, hanging = rng.choice([("", None), ("  ", None), ("  ", "    "), ("", "    "), ("    ", "  ")])
        if wrap(text, width, indent=indent, hanging=hanging) != _old_wrap(text, width, indent=indent, hanging=hanging):
            differ.append((text, width, indent, hanging))
    assert differ == []


def test_a_paragraph_indented_past_its_first_word_drops_its_blanks() -> None:
    assert wrap("            deeply_nested_call(x)", 30, indent="  ") == ["  deeply_nested_call(x)"]
    assert wrap("    short words here", 30, indent="  ") == ["      short words here"]  # fits: kept
