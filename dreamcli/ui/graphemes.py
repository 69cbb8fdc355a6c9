"""Graphemes, escapes and terminal cells: where text may be cut or a line broken without splitting what a
reader sees as one character (a letter and its accents, an emoji ZWJ sequence such as 👨‍👩‍👧‍👦, a flag, a
Hangul syllable in jamo) or an escape dreamcli wrote (`\\x1b`, `\\u202e`), and which characters of
Japanese, Chinese and Korean text a line may break between (that text has no spaces).

    boundaries("e\u0301x")            -> [0, 2, 3]          a cut goes at 0, 2 or 3, never at 1
    cut_cells("echo 👨‍👩‍👧‍👦👨‍👩‍👧‍👦", 9)      -> "echo 👨‍👩‍👧‍👦…"     whole graphemes, at most 9 columns
    cjk_break("約", "書"), cjk_break("書", "。")  -> True, False
    show_joiners("👨\\u200d👩")         -> "👨‍👩"              a joiner that is part of the text, unescaped
    show_joiners("def\\u200dault")      -> "def\\u200dault"    not between ASCII letters (`textnorm.joins`)

A simplified form of Unicode's grapheme clusters (UAX #29) and line breaking (UAX #14), no new dependency:
unicodedata, and Rich's cell widths (loaded on first use, so the cuts of a pipe's plain lines need no Rich).
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata

ZWJ, ZWNJ = "\u200d", "\u200c"
# An escape as Python (repr, `unicode_escape`) and dreamcli.ui.console write one: cut whole or not at all
_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}\s]{1,60}\}|.)")
_JOINER_ESCAPE = re.compile(r"\\u200[cdCD]")
# Ideographs, kana, Hangul, CJK symbols and punctuation, full-width forms: a line may break between two of them
_CJK = ((0x1100, 0x115F), (0x2E80, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA960, 0xA97F),
        (0xAC00, 0xD7A3), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x20000, 0x3FFFD))
# ... but not before a closing mark, a small kana or a sound mark, nor after an opening mark (kinsoku)
_NO_START = frozenset("、。，．・：；？！゛゜ヽヾゝゞ々〻ー）〕］｝〉》」』】〙〗〟’”｠"
                      "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ"
                      "ㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ…‥〜～｡｣､･ｧｨｩｪｫｬｭｮｯｰ")
_NO_END = frozenset("（〔［｛〈《「『【〘〖〝‘“｟｢")
# Emoji and pictographs (Extended_Pictographic, roughly): a ZWJ between two of them joins one grapheme
_PICTOGRAPHS = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2300, 0x23FF), (0x2B00, 0x2BFF), (0x2190, 0x21FF),
                (0x25A0, 0x25FF), (0x2934, 0x2935), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3299))
_PICTOGRAPH_ONES = frozenset("\u00a9\u00ae\u203c\u2049\u2122\u2139")


def _edges(ranges: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """The ranges as one sorted row of their edges (each start, each end + 1): a code point is in one of them
    when an odd number of edges are at or below it (`_within`), one binary search, not a scan of them all."""
    return tuple(edge for lo, hi in sorted(ranges) for edge in (lo, hi + 1))


_CJK_EDGES, _PICTOGRAPH_EDGES = _edges(_CJK), _edges(_PICTOGRAPHS)


def _within(code: int, edges: tuple[int, ...]) -> bool:
    return bisect.bisect_right(edges, code) % 2 == 1


def is_cjk(ch: str) -> bool:
    """Whether `ch` is an ideograph, kana, Hangul, a CJK symbol or a full-width form."""
    return ord(ch) >= 0x1100 and _within(ord(ch), _CJK_EDGES)


def is_pictograph(ch: str) -> bool:
    return ch in _PICTOGRAPH_ONES or (ord(ch) >= 0x2190 and _within(ord(ch), _PICTOGRAPH_EDGES))


def _kind(ch: str) -> str:
    """The character's grapheme-break class: Extend, ZWJ, RI (regional indicator), a Hangul jamo class (L, V,
    T, LV, LVT), Control, Pict or Other."""
    code = ord(ch)
    if code < 0x300:
        return "Control" if code < 0x20 or 0x7F <= code < 0xA0 else "Other"
    if ch == ZWJ:
        return "ZWJ"
    if (code == 0x200C or 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F
            or 0xE0100 <= code <= 0xE01EF or code in (0xFF9E, 0xFF9F)):
        return "Extend"  # ZWNJ, variation selectors, skin tones, tags, half-width sound marks
    if 0x1F1E6 <= code <= 0x1F1FF:
        return "RI"
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97C:
        return "L"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "V"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FB:
        return "T"
    if 0xAC00 <= code <= 0xD7A3:
        return "LV" if (code - 0xAC00) % 28 == 0 else "LVT"
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Mc"):
        return "Extend"
    if category in ("Cc", "Cf", "Zl", "Zp"):
        return "Control"
    return "Pict" if is_pictograph(ch) else "Other"


_HANGUL_JOINS = {"L": ("L", "V", "LV", "LVT"), "LV": ("V", "T"), "V": ("V", "T"), "LVT": ("T",), "T": ("T",)}


def boundaries(text: str) -> list[int]:
    """Where `text` may be cut without splitting a grapheme: 0, the index after each grapheme, len(text)."""
    if text.isascii():
        return [i for i in range(len(text) + 1) if not (0 < i < len(text) and text[i - 1:i + 1] == "\r\n")]
    out = [0]
    prev = ""  # the class of the character before
    pictograph = False  # the grapheme so far is a pictograph and its extenders (a ZWJ may join the next one)
    regional = 0  # regional indicators in a row
    for i, ch in enumerate(text):
        kind = _kind(ch)
        if i:
            joined = ((kind in ("Extend", "ZWJ") and prev != "Control")
                      or (prev == "ZWJ" and pictograph and kind == "Pict")
                      or (prev == "RI" and kind == "RI" and regional % 2 == 1)
                      or kind in _HANGUL_JOINS.get(prev, ())
                      or (prev == "Control" and text[i - 1:i + 1] == "\r\n"))
            if not joined:
                out.append(i)
                pictograph = False
        pictograph = kind == "Pict" or (pictograph and kind in ("Extend", "ZWJ"))
        regional = regional + 1 if kind == "RI" else 0
        prev = kind
    if text:
        out.append(len(text))
    return out


def cut_points(text: str) -> list[int]:
    """`boundaries`, less those inside an escape (`\\u200d`, `\\x1b`, `\\\\`): where a cut keeps both whole."""
    points = boundaries(text)
    if "\\" not in text:
        return points
    inside = {i for m in _ESCAPE.finditer(text) for i in range(m.start() + 1, m.end())}
    return [i for i in points if i not in inside]


def cells(text: str) -> int:
    """Columns `text` takes on a terminal, as Rich counts them (a wide character takes two)."""
    if text.isascii() and text.isprintable():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def cut_cells(text: str, room: int, mark: str = "…") -> str:
    """`text` cut with `mark` to at most `room` columns, between whole graphemes and whole escapes (as it is
    when it fits)."""
    if cells(text) <= room:
        return text
    budget = room - cells(mark)
    points = cut_points(text)
    kept = 0
    for a, b in itertools.pairwise(points):
        budget -= cells(text[a:b])
        if budget < 0:
            break
        kept = b
    return text[:kept].rstrip() + mark


def cut_chars(text: str, limit: int, mark: str = "…") -> str:
    """`text` cut with `mark` to at most `limit` characters (code points), between whole graphemes and whole
    escapes (as it is when it fits)."""
    if len(text) <= limit:
        return text
    end = max((i for i in cut_points(text) if i <= limit - len(mark)), default=0)
    return text[:end] + mark


def head_and_tail(text: str, head: int, tail: int) -> tuple[str, str]:
    """At most the first `head` and the last `tail` characters of `text`, each cut between whole graphemes
    and whole escapes (a long value quoted as its two ends)."""
    points = cut_points(text)
    end = max((i for i in points if i <= head), default=0)
    start = min((i for i in points if i >= len(text) - tail and i >= end), default=len(text))
    return text[:end], text[start:]


def cjk_break(before: str, after: str) -> bool:
    """Whether a line may break between two graphemes written without a space: both Japanese, Chinese or
    Korean characters, `after` no closing mark or small kana and `before` no opening mark."""
    return (bool(before) and bool(after) and is_cjk(before[0]) and is_cjk(after[0])
            and after[0] not in _NO_START and before[0] not in _NO_END)


def show_joiners(text: str) -> str:
    """`text` with each ZWJ or ZWNJ escape (`\\u200d`, as `repr` writes one) that sits between two non-ASCII
    letters, marks or emoji written as the character: it belongs to the spelling (👩‍⚕️, Persian می‌خواهم,
    Indic conjuncts). The rule is `dreamcli.textnorm.joins`, the one the dream keeps joiners by: a joiner
    next to an ASCII character (`def\\u200dault`, which would read as `default`), a space, a quote or a
    backslash stays escaped, and so does any other escape."""
    if "\\u200" not in text.lower():
        return text
    from dreamcli.textnorm import joins

    def shown(m: re.Match[str]) -> str:
        a, b = m.start(), m.end()
        if a and b < len(text) and joins(text[a - 1]) and joins(text[b]):
            return ZWJ if m.group()[-1] in "dD" else ZWNJ
        return m.group()

    return _JOINER_ESCAPE.sub(shown, text)
