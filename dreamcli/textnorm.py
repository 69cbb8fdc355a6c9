"""Text normalisation against hidden and disguised text (pure, no I/O):

    strip_hidden("cu\u200brl")  -> ("curl", 1)      zero-width and bidi controls removed, counted
    fold("ｃｕｒｌ … ｜ ｓｈ")     -> "curl … | sh"     NFKC, look-alike letters and pipes, quotes inside words

`strip_hidden` is applied to session text before the dream mines it; `fold` only to find what a
text really says (the lint's injection rule), never to rewrite what a person reads.
"""

from __future__ import annotations

import re
import unicodedata

# zero-width (U+200B..U+200D, U+2060..U+2064, U+FEFF, U+180E, soft hyphen) and bidi controls
# (U+200E/F, U+202A..U+202E, U+2066..U+2069, U+061C)
_HIDDEN = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c\ufeff]")
# letters that look like Latin ones (Cyrillic, Greek, IPA) and characters that look like a pipe
_LOOKALIKES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j",
    "һ": "h", "ԁ": "d", "ԝ": "w", "ɡ": "g", "ӏ": "l", "ո": "n", "Ь": "b", "в": "b", "т": "t", "к": "k",
    "м": "m", "н": "h", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t",
    "∣": "|", "ǀ": "|", "│": "|", "┃": "|", "❘": "|", "￨": "|", "‐": "-", "‑": "-", "‒": "-", "–": "-",
    "—": "-", "−": "-", "⁄": "/", "∕": "/",
})
_QUOTES = re.compile(r"['\"\\`]")


def strip_hidden(text: str) -> tuple[str, int]:
    """The text without zero-width and bidi control characters, and how many were removed."""
    if text.isascii():
        return text, 0
    return _HIDDEN.subn("", text)


def fold(text: str) -> str:
    """What a shell would run, as plain ASCII-ish text: hidden characters stripped, NFKC (fullwidth
    letters), look-alike letters mapped to Latin, and quotes, backticks and backslashes removed (they
    split a word for a reader but not for a shell: `c''url`, `cu\\rl`)."""
    text = strip_hidden(text)[0]
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES)
    return _QUOTES.sub("", text)
