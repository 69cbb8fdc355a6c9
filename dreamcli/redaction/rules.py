"""Secret patterns (`Rule`) and their checks, built so that clean text is cheap: private keys, Slack,
URL passwords, bearer and basic credentials, and `key=value` secrets. Vendor tokens recognised by
their prefix are in `tokens`, passwords given as command-line options in `command_line`.

Text with no secret candidate costs one C-level scan for all rules together (dreamcli.redaction.gate,
see "Speed" below and bench/bench_redaction.py); a new rule adds a branch to it, not a scan.

Rules are applied in order (dreamcli.redaction.catalog). Earlier, more specific rules replace their
match with a marker (`[REDACTED:<kind>]`); later, generic rules refuse values that already are
markers, so nothing is redacted twice and redaction is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from dreamcli.redaction.prose import CJK, before_cjk, passphrase_ok

MARKER_PREFIX = "[REDACTED:"
MARKER_RE = re.compile(r"\[REDACTED:[a-z_]+\]")

ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_IDENTIFIER_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_PLACEHOLDER_START = ("$", "%(", "<", "{{", "${", "[REDACTED")
# A character of an unquoted value under a secret key: not a blank, quote or bracket, not the `,;&` after
# it, and not CJK text (`prose`), so a value never starts with one and stops at the first.
_BARE = r"[^\s\"'`,;&<>(){}\[\]\\" + CJK + "]"
_BARE_STRETCH = re.compile(_BARE + "{8,}")
# A CJK opening bracket that may stand before such a value (`【…】`, `（…）`, an unclosed `「`): 〈《「『【〔〖（［｛｢
_CJK_OPENING = "[\u3008\u300a\u300c\u300e\u3010\u3014\u3016\uff08\uff3b\uff5b\uff62]"


def marker(kind: str) -> str:
    return f"{MARKER_PREFIX}{kind}]"


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of secret.

    `requires`: literals that must all occur for the rule to apply. `locators` (case-insensitive
    rules): regexes, each starting with a literal, run on the lower-cased text; their matches are
    the only places where `regex` is tried (`regex.match`). `groups`: the named groups holding the
    secret (first that matched wins); empty means the whole match. `validate` gets the secret
    text, `check_match` the whole match; either may veto it. `lead` (rules without groups): the
    number of characters of the secret before the match, checked by a lookbehind, so that the
    regex can start with a literal shared with other tokens (see `tokens`). `pivots`: for each
    locator (or for `regex` when there are none), the index of the character in its literal prefix
    that the one combined scan looks for (dreamcli.redaction.gate); empty means 0 for each. A
    rare character is cheaper: `z` of `authorization`, not its `a`.
    """

    kind: str
    regex: re.Pattern[str]
    requires: tuple[str, ...] = ()
    locators: tuple[re.Pattern[str], ...] = ()
    groups: tuple[str, ...] = ()
    validate: Callable[[str], bool] | None = None
    check_match: Callable[[re.Match[str]], bool] | None = None
    kind_of: Callable[[re.Match[str]], str] | None = None
    lead: int = 0
    pivots: tuple[int, ...] = ()


# ---------------------------------------------------------------- validators


def is_placeholder(value: str) -> bool:
    """`${TOKEN}`, `<your-key>`, `********`, `xxxxxxxx`, `None`, an existing marker..."""
    if value.startswith(_PLACEHOLDER_START) or MARKER_PREFIX in value:
        return True
    low = value.lower()
    if low in {"none", "null", "true", "false", "undefined", "redacted", "changeme", "password"}:
        return True
    return len(set(low)) <= 2 or "..." in value or "xxxx" in low or "****" in value


def is_tokenish(value: str, min_len: int = 16) -> bool:
    """A machine-made token: long enough, varied, with digits or mixed case, one long alnum run.

    Rejects prose such as "tokens-are-described-in-RFC6750" (short runs) and placeholders."""
    if len(value) < min_len or is_placeholder(value):
        return False
    if len(set(value)) < 6:
        return False
    if max((len(r) for r in ALNUM_RUN.findall(value)), default=0) < 10:
        return False
    has_digit = any(c.isdigit() for c in value)
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    return has_digit or (has_upper and has_lower)


def random_body(body: str) -> bool:
    """The body of a prefixed vendor token: varied, a long alnum run, and two of digit/upper/lower.

    The prefix already says "token"; this only refuses placeholders and words (`glpat-your-token`)."""
    if is_placeholder(body) or len(set(body)) < 10:
        return False
    if max((len(r) for r in ALNUM_RUN.findall(body)), default=0) < 8:
        return False
    kinds = (any(c.isdigit() for c in body), any(c.isupper() for c in body), any(c.islower() for c in body))
    return sum(kinds) >= 2


def _has_digit_tokenish(value: str) -> bool:
    return any(c.isdigit() for c in value) and not is_placeholder(value) and len(set(value)) >= 6


def _quoted_value_ok(value: str) -> bool:
    """A quoted value that is a secret, not prose. One holding CJK text ends where that begins, as an
    unquoted value does (see `prose`): `「Hunter2Secret99を使う」` is a secret, `「忘れた場合は管理者へ」` and
    `「有効期限は2024-12-31まで」` are prose. Before CJK text, one word is judged as an unquoted value is
    (`「requiredで指定」`: a word), and several as a passphrase with a digit (`“Hunter2 Secret99を使う”`;
    not `"Google Cloudのキー"`)."""
    if len(value) < 6 or is_placeholder(value):
        return False
    head = before_cjk(value)
    if head is None:
        return passphrase_ok(value)
    head = head.strip()
    if len(head.split()) > 1:
        return any(c.isdigit() for c in head) and _quoted_value_ok(head)
    bare = _BARE_STRETCH.match(head)
    return bare is not None and _unquoted_value_ok(bare[0])


def _looks_like_path(value: str) -> bool:
    """`OLDPWD=/home/me`-style values of `*_PWD` keys: a directory, not a password."""
    return value.startswith(("/", "~", "./", "../")) or (len(value) > 2 and value[1] == ":" and value[2] in "\\/")


def _unquoted_value_ok(value: str) -> bool:
    """Unquoted `password=...` values: refuse code (`self.password`, `get_pw`) and plain words."""
    if len(value) < 8 or is_placeholder(value):
        return False
    if _IDENTIFIER_PATH.fullmatch(value):
        return "." not in value and any(c.isdigit() for c in value)
    return True


def generic_kind(key: str) -> str:
    low = key.lower()
    if "pass" in low or low.endswith("pwd"):
        return "password"
    if "key" in low and "api" in low:
        return "api_key"
    if "token" in low:
        return "token"
    return "secret"


# ---------------------------------------------------------------- patterns
#
# Speed: every regex (and every locator) starts with a literal, and checks the character before it
# with a lookbehind placed after the literal. One scan (dreamcli.redaction.gate) looks for all of
# them at once: at each occurrence of a rule's pivot character (one character of that literal) it
# tries the rest in C, so clean text costs one pass and Python runs only where a rule can match.
# Case-sensitive rules are tried there as they are: the scan holds their whole regex. Case-
# insensitive (IGNORECASE) rules are "located": literal-prefixed `locators`, defined on the
# lower-cased text (also checking for the `=`/`:` that follows a key name, so "max_tokens" in prose
# costs nothing more), say where `regex.match` is tried. Each such regex must therefore match
# starting exactly where its locators do. Rules share literals where they can: tokens by first
# character (`tokens`), one `-p` for all password clients (`command_line`), one `secret` locator
# for generic and AWS secrets. The rule-by-rule reference (`redactor._rule_by_rule`) runs one scan
# per rule and must give the same output (tests/redaction/test_redaction_fast_path.py).


def token_start(literal: str, word: str = "A-Za-z0-9_\\-") -> str:
    """`literal`, not glued to a preceding word character (unless that is the letter of a \\n, \\t
    or \\r escape, as in JSON dumped inside a string); the check follows the literal so that re
    can still scan for the literal prefix."""
    lit = re.escape(literal)
    return rf"{lit}(?:(?<![{word}]{lit})|(?<=\\[ntr]{lit}))"


def not_glued(n: int, word: str) -> str:
    """The `n` characters just matched (a token prefix) are not glued to a preceding `word`
    character (the escape's letter excepted, as in `token_start`). Placed after a branch's literal,
    so that most hits of a shared first character fail before any lookbehind runs."""
    return rf"(?:(?<![{word}].{{{n}}})|(?<=\\[ntr].{{{n}}}))"


# Start of a key name: no word character before it (an escape's letter excepted, see `token_start`).
_BOUNDARY = r"(?:(?<![A-Za-z0-9])|(?<=\\[ntr]))"


def compile_locators(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


# What may stand between a key and its value. `_BLANK`: ASCII blanks and every other Unicode space but
# the line breaks (the no-break U+00A0 and U+202F of pasted text, the ideographic U+3000 of CJK input).
# `_COLON` and `_SEP`: also the full-width `：` and `＝` that Japanese, Chinese and Korean input methods
# type. A quoted key may close with a typographic quote (`“password”：`). Written as the characters
# themselves (not `\u` escapes), which the gate and the RE2 translation (`prefilter`) read as plain ones.
_BLANK = "[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"
_COLON = "[:\uff1a]"
_KEY_QUOTE = "[\"'\u201d\u2019\u300d\u300f\u00bb]"
_SEP = r"\\?" + _KEY_QUOTE + "?" + _BLANK + "*[:=\uff1a\uff1d]" + _BLANK + "*"  # `key=`, `"key": `, `\"key\": `


PRIVATE_KEY = Rule(
    "private_key",
    re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"|[A-Za-z0-9+/=\s\\:,.\-]*)",  # truncated block (no END line): take the body that follows
        re.DOTALL,
    ),
)

SLACK = Rule(
    "slack",
    re.compile(
        r"x(?:ox[abposre]-" + not_glued(5, "A-Za-z0-9_\\-") + r"[A-Za-z0-9\-]{10,}"
        r"|app-\d-" + not_glued(7, "A-Za-z0-9_\\-") + r"[A-Za-z0-9\-]{10,})"
    ),
    validate=_has_digit_tokenish,
)

SLACK_WEBHOOK = Rule(
    "slack_webhook",
    re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9_/\-]{8,})"),
    groups=("secret",),
    validate=_has_digit_tokenish,
    pivots=(3,),  # the `k` of `hooks`
)

URL_PASSWORD = Rule(
    "url_password",
    # possessive runs: neither class holds the character that ends it, so no backtracking is lost
    re.compile(r"://[^\s/:@'\"<>\[\]]{1,256}+:(?P<secret>[^\s/@'\"<>\[\]]{1,256}+)@"),
    requires=("://", "@"),
    groups=("secret",),
    validate=lambda v: not is_placeholder(v) and v.lower() not in {"pass", "pw", "pwd"},
)


BEARER = Rule(
    "bearer",
    re.compile(_BOUNDARY + r"bearer\s+(?P<secret>[A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE),
    locators=compile_locators(r"bearer\s"),
    groups=("secret",),
    validate=is_tokenish,
)

BASIC_AUTH = Rule(
    "basic_auth",
    re.compile(
        _BOUNDARY + r"authorization" + _SEP + r"\\?[\"']?basic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})",
        re.IGNORECASE,
    ),
    locators=compile_locators(r"authorization" + _SEP + r"\\?[\"']?basic\s"),
    pivots=(7,),  # the `z`
    groups=("secret",),
    validate=lambda v: not is_placeholder(v),
)

_COOKIE_PAIR = re.compile(r"[\w.\-]+=[^\s;]")  # a cookie's value begins `name=value`


def _header_value_ok(m: re.Match[str]) -> bool:
    """A header's value that is a credential, not what another rule redacted (`Bearer [REDACTED:…]`) nor
    prose: a cookie begins `name=value`; an authorization a few words (a raw key, `AWS4-HMAC-SHA256 Credential=…`)
    with a digit in them or ending in a token (`Negotiate YIIGhg…`)."""
    value = m.group("secret")
    words = value.split()
    if is_placeholder(value) or words[0].lower() in ("bearer", "basic"):
        return False
    if m.group("key").lower() == "cookie":
        return _COOKIE_PAIR.match(value) is not None
    return len(words) <= 4 and (any(c.isdigit() for c in value) or is_tokenish(words[-1]))


# An HTTP header whose whole value is a credential: a cookie (`Cookie:`, `Set-Cookie:`), or an
# `Authorization` (`Proxy-Authorization`) that is not Bearer or Basic (their rules keep the scheme's word).
# The value runs to the end of the line, or to the quote around the header (`-H 'Cookie: sid=…'`); it does
# not start with CJK text (`Authorization：管理者が2回確認する` is prose, see `prose`).
HEADER_CREDENTIAL = Rule(
    "header",
    re.compile(_BOUNDARY + r"(?P<key>authorization|cookie)\\?[\"']?" + f"{_BLANK}*{_COLON}{_BLANK}*"
               r"\\?[\"']?(?P<secret>[^\s\"'`\\" + CJK + r"][^\r\n\"'`\\]{6,1000}[^\s\"'`\\])", re.IGNORECASE),
    locators=compile_locators(*(rf"{name}\\?[\"']?{_BLANK}*{_COLON}" for name in ("authorization", "cookie"))),
    pivots=(7, 3),  # the `z`, the `k`
    groups=("secret",),
    check_match=_header_value_ok,
    kind_of=lambda m: m.group("key").lower(),
)

# Key names whose value is a secret. `password`, `passwd` and `passphrase` may be glued to any
# prefix (`PGPASSWORD=`, `dbPassword:`, `DB_PASSWORD=`); the other first names stand alone
# (`x-api-key:`, `aws_secret_access_key =`, `"SecretAccessKey":`); `token`, `secret` and `pwd`
# need a prefix, joined by `_`/`-` or in camelCase (`access_token`, `GITHUB_TOKEN`, `clientSecret`,
# `accessToken`, `MYSQL_PWD`), so a bare `token:`
# in prose or `PWD=/home/me` is left alone.
_PASS_NAMES = r"pass(?:word|wd|phrase)"
_NAMES_ALONE = r"api[_\-]?key|apikey|secret[_\-]?(?:access[_\-]?)?key"
_NAMES_PREFIXED = r"token|secret|pwd"
GENERIC_KEY_RE = re.compile(
    rf"(?:[A-Za-z0-9]+[_\-])*(?:[A-Za-z0-9]*{_PASS_NAMES}|{_NAMES_ALONE})"
    rf"|(?:[A-Za-z0-9]+[_\-])+(?:{_NAMES_PREFIXED})",
    re.IGNORECASE,
)
_AWS_SECRET_VALUE = re.compile(r"[A-Za-z0-9/+]{40}")


def _value_ok_for_key(key: str, value: str, quoted: bool) -> bool:
    if key[-3:].lower() == "pwd" and _looks_like_path(value):
        return False
    return _quoted_value_ok(value) if quoted else _unquoted_value_ok(value)


# A value in typographic quotes, one group per pair (name, opening quotes, closing quotes): “…” „…“, ‘…’,
# 「…」, 『…』, «…» »…«. Inside, anything but a quote of its own pair, a backslash or a line break, so
# `“Tom’s dog 1984”` is one value, as `"…"` holds `'`-free text in ASCII quotes.
_TYPOGRAPHIC_QUOTES = (("dquote", "\u201c\u201e", "\u201d\u201c"), ("squote", "\u2018\u201a", "\u2019\u2018"),
                       ("corner", "\u300c", "\u300d"), ("wcorner", "\u300e", "\u300f"),
                       ("guillemet", "\u00ab\u00bb", "\u00bb\u00ab"))  # fmt: skip
_QUOTED_GROUPS = ("qsecret", *(name for name, _, _ in _TYPOGRAPHIC_QUOTES))


def _typographic_value(name: str, opening: str, closing: str) -> str:
    return f"[{opening}](?P<{name}>[^{opening}{closing}" + r"\\\n\r]{6,512})" + f"[{closing}]"


def _quoted_value(m: re.Match[str]) -> str | None:
    return next((m.group(name) for name in _QUOTED_GROUPS if m.group(name) is not None), None)


def _generic_value(m: re.Match[str]) -> str:
    quoted = _quoted_value(m)
    return quoted if quoted is not None else m.group("usecret")


def _is_aws_secret(m: re.Match[str]) -> bool:
    """`aws_secret_access_key = <40 base64 characters>`, `"SecretAccessKey": "..."`, `secret_key=...`"""
    key, value = m.group("key").lower(), _generic_value(m)
    if not (key.startswith("secret") and key.endswith("key")):
        return False
    return _AWS_SECRET_VALUE.fullmatch(value) is not None and is_tokenish(value, 40)


def validate_generic(m: re.Match[str]) -> bool:
    quoted = _quoted_value(m)
    value = quoted if quoted is not None else m.group("usecret")
    return _is_aws_secret(m) or _value_ok_for_key(m.group("key"), value, quoted is not None)


# Also the rule for AWS secret access keys (kind `aws_secret_key`): one scan for `secret`, not two.
GENERIC = Rule(
    "secret",
    re.compile(
        rf"(?P<key>{_PASS_NAMES}|{_BOUNDARY}(?:{_NAMES_ALONE})|(?:(?<=[A-Za-z0-9][_\-])|(?<=[A-Za-z0-9]))(?:{_NAMES_PREFIXED}))"
        + _SEP
        # a quoted value may hold spaces (a passphrase); `_quoted_value_ok` tells it from prose
        + r"(?:(?P<q>\\?[\"'])(?P<qsecret>[^\"'\\\n\r]{6,512})(?P=q)"
        + "".join("|" + _typographic_value(*quotes) for quotes in _TYPOGRAPHIC_QUOTES)
        + f"|{_CJK_OPENING}?(?P<usecret>{_BARE}{{8,}}+)" + r"(?![(\[<{]))",
        re.IGNORECASE,
    ),
    locators=compile_locators(
        r"api[_\-]?key" + _SEP,
        r"p(?:ass(?:word|wd|phrase)|wd(?:(?<=[a-z0-9][_\-]pwd)|(?<=[a-z0-9]pwd)))" + _SEP,
        r"secret(?:[_\-]?(?:access[_\-]?)?key)?" + _SEP,
        r"token" + _SEP,
    ),
    pivots=(1, 0, 2, 2),  # the `p` of `api`, of `pass`/`pwd`, the `c` of `secret`, the `k` of `token`
    groups=(*_QUOTED_GROUPS, "usecret"),
    check_match=validate_generic,
    kind_of=lambda m: "aws_secret_key" if _is_aws_secret(m) else generic_kind(m.group("key")),
)


# JSON keys only (an object's key is a whole name, so case tells its words apart): camelCase names ending in
# a secret's word (`accessToken`, `SessionToken`, `clientSecret`, `privateKey`; not `maxTokens`, `tokenType`),
# and the HTTP headers whose whole value is a credential (a raw `Authorization`, a cookie).
_CAMEL_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:Token|Secret|PrivateKey|Pwd)|privateKey")
_HEADER_KEYS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


@lru_cache(maxsize=4096)
def _names_a_secret(key: str) -> bool:
    """Cached: JSON data repeats a few key names (`type`, `text`, ...) in every record."""
    return (GENERIC_KEY_RE.fullmatch(key) is not None or _CAMEL_KEY_RE.fullmatch(key) is not None
            or key.lower() in _HEADER_KEYS)


def sensitive_value_for_key(key: str, value: str) -> bool:
    """For JSON objects: is `value` a secret because of the name of its key (`{"password": ...}`)?"""
    return _names_a_secret(key) and _value_ok_for_key(key, value, quoted=True)
