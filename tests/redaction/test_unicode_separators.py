"""Secrets typed by users of other scripts: a value under a secret key name after a full-width `：` or `＝`
(Japanese, Chinese and Korean input methods) or after a no-break or ideographic space (pasted text), and a
passphrase in typographic quotes (“…”, ‘…’, 「…」, 『…』, «…»). Each is redacted as its ASCII spelling is,
whatever path the text takes (the one scan, rule by rule, the RE2 prefilter, the memo of clean strings),
and Japanese prose that only uses the full-width colon stays as it is."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamcli.redaction import default_redactor, prefilter, redactor
from dreamcli.redaction.catalog import BUILTIN_RULES
from dreamcli.redaction.gate import Gate
from tests.redaction.support import GH_PAT, OPAQUE, PASSPHRASE, PASSWORD, assert_redacted, assert_untouched
from tests.redaction.test_redaction_fast_path import _assert_same_as_reference, _reference_positions

SEPARATORS = [":", "=", "\uff1a", "\uff1d"]  # ASCII, full-width colon and equals sign
BLANKS = ["", " ", "\t", "\u00a0", "\u3000", "\u202f"]  # none, ASCII, no-break, ideographic, narrow no-break
KEYS = [("password", "password"), ("DB_PASSWORD", "password"), ("api_key", "api_key"),
        ("GITHUB_TOKEN", "token"), ("client_secret", "secret")]  # fmt: skip
QUOTES = [("\u201c", "\u201d"), ("\u201e", "\u201c"), ("\u2018", "\u2019"), ("\u300c", "\u300d"),
          ("\u300e", "\u300f"), ("\u00ab", "\u00bb"), ("\u00bb", "\u00ab")]  # fmt: skip
MIXED_PASSPHRASE = "Hunter2 " + "Secret99"  # the tester's: a key's word with a digit is part of the passphrase

POSITIVES = [
    *((f"{key}{before}{sep}{after}{PASSWORD}", PASSWORD, kind)
      for key, kind in KEYS for sep in SEPARATORS for before in BLANKS for after in BLANKS
      if not (before + sep + after).isascii()),  # the ASCII spellings: tests/redaction/test_redaction.py
    *((f"password={o}{phrase}{c}", phrase, "password") for o, c in QUOTES for phrase in (PASSPHRASE, MIXED_PASSPHRASE)),
    ("DB\u63a5\u7d9a\u60c5\u5831\npassword\uff1a" + PASSWORD + "\nDB_PASSWORD=" + OPAQUE, PASSWORD, "password"),
    (f"\u63a5\u7d9a\u60c5\u5831: password\uff1a{PASSWORD} \u3092\u4f7f\u7528", PASSWORD, "password"),
    (f"password\uff1a\u3000\u300c{MIXED_PASSPHRASE}\u300d\u3092\u4f7f\u3046", MIXED_PASSPHRASE, "password"),
    ("password: \u201cTom\u2019s dog 1984\u201d", "Tom\u2019s dog 1984", "password"),  # an apostrophe inside
    (f"\u201cpassword\u201d\uff1a \u201c{PASSPHRASE}\u201d", PASSPHRASE, "password"),  # a key in typographic quotes
    (f"Cookie\uff1a sid={OPAQUE}", f"sid={OPAQUE}", "cookie"),
    (f"Authorization\uff1a\u00a0Basic {OPAQUE}", OPAQUE, "basic_auth"),
    (f'password="{MIXED_PASSPHRASE}"', MIXED_PASSPHRASE, "password"),  # in ASCII quotes too
]
NEGATIVES = [
    "\u6ce8\u610f\uff1a\u3053\u306e\u30d5\u30a1\u30a4\u30eb\u306f\u6a5f\u5bc6",  # 注意：このファイルは機密
    "\u6642\u523b\uff1a12\uff1a30\u3001\u5834\u6240\uff1a\u4f1a\u8b70\u5ba4A",  # 時刻：12：30、場所：会議室A
    "\u30c8\u30fc\u30af\u30f3\uff1a\u6709\u52b9\u671f\u9650\u5207\u308c (expired)",  # トークン：有効期限切れ
    "token\uff1a" + OPAQUE,  # a bare `token` needs a prefix, as with `token: `
    "max_tokens\uff1a8192\u3001temperature\uff1a0.2",
    "password\uff1a\u201csee the vault\u201d",  # prose in typographic quotes
    "password\uff1d\u300c\u79d8\u5bc6\u300d",  # too short to be a password: 「秘密」
    "password\uff1a${DB_PASSWORD}",
    "OLDPWD\uff1d/home/\u7530\u4e2d/\u5951\u7d04",  # a path under a `*PWD` key
    "Authorization\uff1a\u00a0Bearer [REDACTED:bearer]",
    "password\uff1a \u00abthe secret is in the vault\u00bb",
    "\u3053\u308c\u306f\u300c\u30c6\u30b9\u30c8\u300d\u3067\u3059\u3002api\u30ad\u30fc\u306f\u5225\u9014",
]


@pytest.mark.parametrize(("text", "secret", "kind"), POSITIVES, ids=range(len(POSITIVES)))
def test_the_value_after_any_separator_is_redacted(text: str, secret: str, kind: str) -> None:
    assert_redacted(text, secret, kind)


@pytest.mark.parametrize(("o", "c"), QUOTES)
def test_a_passphrase_in_typographic_quotes_is_redacted_whole(o: str, c: str) -> None:
    out = default_redactor().redact_text(f"password={o}{MIXED_PASSPHRASE}{c} \u3092\u4f7f\u7528")
    assert out == f"password={o}[REDACTED:password]{c} \u3092\u4f7f\u7528"


@pytest.mark.parametrize("text", NEGATIVES, ids=range(len(NEGATIVES)))
def test_prose_with_full_width_colons_is_left_alone(text: str) -> None:
    assert_untouched(text)


_VALUES = [PASSWORD, OPAQUE, GH_PAT, "hunter22", "short", "self.password", "get_pw_2", "$API_TOKEN", "<your-key>",
           "/home/me/app", "\u6709\u52b9\u671f\u9650\u5207\u308c\u3067\u3059", "[REDACTED:token]", "xxxxxxxxxx",
           f'"{PASSPHRASE}"', '"see the docs here"', "'abc'", "(redacted)", "os.environ['X']"]  # fmt: skip


@pytest.mark.parametrize("key", ["password", "DB_PASSWORD", "access_token", "token", "api_key", "MYSQL_PWD"])
@pytest.mark.parametrize("value", _VALUES)
def test_full_width_separators_decide_as_ascii_ones_do(key: str, value: str) -> None:
    """`token：` and `token: ` give the same answer for every value: redacted or not, and the same marker."""
    r = default_redactor()
    pairs = ((": ", "\uff1a"), ("=", "\uff1d"), (":\u3000", "\uff1a\u3000"), (" = ", "\u00a0\uff1d\u00a0"))
    for ascii_sep, wide in pairs:
        expected = r.redact_text(f"{key}{ascii_sep}{value} end")
        assert r.redact_text(f"{key}{wide}{value} end") == expected.replace(ascii_sep, wide, 1)


_SHORT = [text for text, _, _ in POSITIVES if len(text) <= redactor.CLEAN_CACHED_LENGTH]


def test_short_secrets_never_enter_the_memo_of_clean_strings() -> None:
    assert _SHORT
    gate = Gate(BUILTIN_RULES)
    r = redactor.Redactor()
    for text in _SHORT:
        assert not gate.clean(text), text
        first = r.redact_text(text)
        assert first != text and r.redact_text(text) == first  # asked again: not remembered as clean
        assert r.redact_obj({"note": text}) == {"note": first}


@pytest.mark.parametrize("text", [t for t, _, _ in POSITIVES] + NEGATIVES, ids=range(len(POSITIVES) + len(NEGATIVES)))
def test_the_scan_and_the_rule_by_rule_path_agree(text: str) -> None:
    _assert_same_as_reference(text)
    _assert_same_as_reference(f"ok\n{text}\n{text.upper()}")
    doubled = f"{text} {text.upper()}\n{text}"
    found = Gate(BUILTIN_RULES).candidates(doubled)
    assert found is not None
    for index, rule in enumerate(BUILTIN_RULES):
        assert set(found.get(index, ())) == _reference_positions(rule, doubled), rule.kind


_FILLER = "2026-12-06 12:00:01 INFO \u30d3\u30eb\u30c9 14/40 \u5b8c\u4e86 0.8 s\n"


@pytest.mark.parametrize("size", [redactor.PREFILTER_FROM + 1, redactor.GATE_LIMIT + 1])
def test_long_text_is_redacted_too(size: int) -> None:
    """Mid-sized text goes through the gate, long text rule by rule: the RE2 scan judges ASCII text only."""
    pad = (_FILLER * (size // len(_FILLER) + 1))[:size]
    text = f"{pad}password\uff1a{PASSWORD}\n{pad}"
    assert prefilter.clean(text) is None
    out = default_redactor().redact_text(text)
    assert PASSWORD not in out and "password\uff1a[REDACTED:password]" in out
    _assert_same_as_reference(text)


_PIECES = ["password", "DB_PASSWORD", "api_key", "access_token", "Cookie", "Authorization", "Basic ", PASSWORD,
           PASSPHRASE, MIXED_PASSPHRASE, OPAQUE, "\u6a5f\u5bc6", "\u0130", "\u212a"]  # fmt: skip
_JOINS = ["", " ", "\n", "\uff1a", "\uff1d", "\u3000", "\u00a0", "\u202f", ":", "=", '"', *(o + c for o, c in QUOTES),
          *(o for o, _ in QUOTES), *(c for _, c in QUOTES)]  # fmt: skip


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(_JOINS), st.sampled_from(_PIECES)), max_size=10))
def test_mixed_text_gives_the_rule_by_rule_output(parts: list[tuple[str, str]]) -> None:
    _assert_same_as_reference("".join(join + piece for join, piece in parts))
