"""Text normalisation against hidden and disguised text (pure, no I/O):

    strip_hidden("cu\u200brl")  -> ("curl", 1)      zero-width and bidi controls removed, counted
    strip_hidden("\x1b[31mok")  -> ("ok", 0)        terminal sequences and control characters removed
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
# terminal sequences as a whole (so no `[31m` or `]0;TITLE` is left behind): CSI (ESC [ or U+009B) with its
# parameters, OSC / DCS / APC / PM strings (ESC ] P _ ^ or U+009D/0090/009F/009E) ended by BEL or ST (one left
# open keeps its text: only its introducer goes), two-character escapes; then any other C0 control but tab
# and newline, DEL and C1 controls. CRLF and a lone CR are newlines.
_SEQUENCES = re.compile("(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]?"
                        "|(?:\x1b[\\]P_^]|[\x9d\x90\x9f\x9e])[^\x00-\x1f\x7f-\x9f]{0,4096}(?:\x07|\x1b\\\\|\x9c)"
                        "|\x1b[ -/]*[0-~]?")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str, every surrogate code point is a lone one (not UTF-8)
LINE_BREAKING = ("Cc", "Zl", "Zp")  # Unicode categories: controls (newline, tab, escape), line/paragraph separators
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


def escaped(value: str) -> str:
    """`value` as printable text for a message or a record: a byte that is not UTF-8 (a lone surrogate escape,
    as Python decodes such bytes in argv, the environment and file names) as \\xNN, a control character or
    line break as its escape (`out\\udcff.json` -> `out\\xff.json`)."""
    try:
        raw = value.encode("utf-8", "surrogateescape")  # the bytes argv or the environment held
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(c if unicodedata.category(c) not in LINE_BREAKING else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def strip_hidden(text: str) -> tuple[str, int]:
    """The text without zero-width and bidi control characters, and how many of those were removed (what
    hides words from a reader: counted, and the dream treats the text as untrusted); also without terminal
    sequences and control characters (ESC, BEL, U+009B, DEL: a test runner's colours, a retitled window),
    which are removed but not counted. Newlines and tabs stay; CR becomes a newline."""
    if _CONTROL.search(text) is not None:
        text = _CONTROL.sub("", _SEQUENCES.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    if text.isascii():
        return text, 0
    if "\u200c" in text or "\u200d" in text:  # a joiner that spells a word or an emoji is kept
        removed = 0

        def drop(m: re.Match[str]) -> str:
            nonlocal removed
            i, src = m.start(), m.string
            if m.group() in "\u200c\u200d" and 0 < i < len(src) - 1 and joins(src[i - 1]) and joins(src[i + 1]):
                return m.group()
            removed += 1
            return ""

        return _HIDDEN.sub(drop, text), removed
    return _HIDDEN.subn("", text)


def joins(c: str) -> bool:
    """Whether a zero-width joiner or non-joiner next to `c` can be part of what a text spells: between two
    letters or marks of a script that needs them (Arabic and Persian, Indic scripts: never ASCII, so a shell
    word such as `cu<ZWJ>rl` stays hidden text) or two parts of an emoji (a symbol, a skin tone, U+FE0F).
    The one rule for joiners: what is kept here is what an `error:` line shows (`dreamcli.ui.graphemes`)."""
    return not c.isascii() and unicodedata.category(c)[0] in "LMS"


def fold(text: str) -> str:
    """What a shell would run, as plain ASCII-ish text: hidden characters stripped, NFKC (fullwidth
    letters), look-alike letters mapped to Latin, and quotes, backticks and backslashes removed (they
    split a word for a reader but not for a shell: `c''url`, `cu\\rl`)."""
    text = strip_hidden(text)[0]
    if not text.isascii():  # joiners kept in a word (strip_hidden) go too: look-alikes may make it Latin
        text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES).replace("\u200c", "").replace("\u200d", "")
    return _QUOTES.sub("", text)


def nfc(text: str) -> str:
    """`text` in Unicode's composed form (NFC), the one a name is compared in: `José` typed on a keyboard
    and `José` as macOS writes file names (e + a combining accent) look the same and are the same name."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def same_name(a: str | None, b: str | None) -> bool:
    """Whether two names (a task, a reviewer) are the same once both are in composed form (`nfc`)."""
    return a == b or (a is not None and b is not None and nfc(a) == nfc(b))


def has_line_breaking(text: str) -> bool:
    """Whether `text` holds a control character (a newline, a tab, an escape) or a line or paragraph
    separator: what one line of a name, a crontab entry or a commit subject cannot hold."""
    return any(unicodedata.category(c) in LINE_BREAKING for c in text)
