"""Built-in secret patterns: one `Rule` per kind of secret, built so that clean text is cheap.

Text with no secret candidate costs about a dozen C-level substring scans and no regex
backtracking (see "Speed" below and bench/bench_redaction.py).

Rules are applied in order. Earlier, more specific rules replace their match with a marker
(`[REDACTED:<kind>]`); later, generic rules refuse values that already are markers, so nothing is
redacted twice and redaction is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MARKER_PREFIX = "[REDACTED:"
MARKER_RE = re.compile(r"\[REDACTED:[a-z_]+\]")

_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_IDENTIFIER_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_PLACEHOLDER_START = ("$", "%(", "<", "{{", "${", "[REDACTED")


def marker(kind: str) -> str:
    return f"{MARKER_PREFIX}{kind}]"


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of secret.

    `requires`: literals that must all occur for the rule to apply. `locators` (case-insensitive
    rules): regexes, each starting with a literal, run on the lower-cased text; their matches are
    the only places where `regex` is tried (`regex.match`). `groups`: the named groups holding the
    secret (first that matched wins); empty means the whole match. `validate` gets the secret
    text, `check_match` the whole match; either may veto it.
    """

    kind: str
    regex: re.Pattern[str]
    requires: tuple[str, ...] = ()
    locators: tuple[re.Pattern[str], ...] = ()
    groups: tuple[str, ...] = ()
    validate: Callable[[str], bool] | None = None
    check_match: Callable[[re.Match[str]], bool] | None = None
    kind_of: Callable[[re.Match[str]], str] | None = None


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
    if max((len(r) for r in _ALNUM_RUN.findall(value)), default=0) < 10:
        return False
    has_digit = any(c.isdigit() for c in value)
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    return has_digit or (has_upper and has_lower)


def _mixed_token(body: str) -> bool:
    """Digits, upper and lower case, and tokenish: what random base62/base64url keys look like."""
    return (
        is_tokenish(body, 20)
        and any(c.isdigit() for c in body)
        and any(c.isupper() for c in body)
        and any(c.islower() for c in body)
    )


def _openai_body(value: str) -> bool:
    body = value.split("-", 1)[1] if value.startswith("sk-") else value
    if "T3BlbkFJ" in body:  # base64 of "OpenAI", present in most OpenAI keys
        return not is_placeholder(body)
    return _mixed_token(body)


def _has_digit_tokenish(value: str) -> bool:
    return any(c.isdigit() for c in value) and not is_placeholder(value) and len(set(value)) >= 6


def _quoted_value_ok(value: str) -> bool:
    return len(value) >= 6 and not is_placeholder(value)


def _unquoted_value_ok(value: str) -> bool:
    """Unquoted `password=...` values: refuse code (`self.password`, `get_pw`) and plain words."""
    if len(value) < 8 or is_placeholder(value):
        return False
    if _IDENTIFIER_PATH.fullmatch(value):
        return "." not in value and any(c.isdigit() for c in value)
    return True


def generic_kind(key: str) -> str:
    low = key.lower()
    if "pass" in low:
        return "password"
    if "key" in low and "api" in low:
        return "api_key"
    if "token" in low:
        return "token"
    return "secret"


# ---------------------------------------------------------------- patterns
#
# Speed: case-sensitive rules run `regex.sub` over the whole text, so each regex starts with a
# literal (re then scans for that prefix in C) and checks the character before it with a
# lookbehind placed after the literal. Case-insensitive (IGNORECASE) regexes have no such fast
# path, so those rules are "located": cheap literal-prefixed `locators` run on the lower-cased
# text (also checking for the `=`/`:` that follows a key name, so "max_tokens" in prose costs
# nothing more), and `regex.match` is called only where a locator matched. Each such regex must
# therefore match starting exactly where its locators do.


def _start(literal: str, word: str = "A-Za-z0-9_\\-") -> str:
    """`literal`, not glued to a preceding word character (unless that is the letter of a \\n, \\t
    or \\r escape, as in JSON dumped inside a string); the check follows the literal so that re
    can still scan for the literal prefix."""
    lit = re.escape(literal)
    return rf"{lit}(?:(?<![{word}]{lit})|(?<=\\[ntr]{lit}))"


# Start of a key name: no word character before it (an escape's letter excepted, see `_start`).
_BOUNDARY = r"(?:(?<![A-Za-z0-9])|(?<=\\[ntr]))"


def _loc(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


_SEP = r"\\?[\"']?[ \t]*[:=][ \t]*"  # `key=`, `key: `, `"key": `, `\"key\": ` (JSON inside a string)


PRIVATE_KEY = Rule(
    "private_key",
    re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"|[A-Za-z0-9+/=\s\\:,.\-]*)",  # truncated block (no END line): take the body that follows
        re.DOTALL,
    ),
)

ANTHROPIC = Rule(
    "anthropic",
    # No left boundary: "sk-ant-" is distinctive, and a key glued to other text must still go.
    # The body check keeps "desk-ant-colony-simulation-framework" alone.
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    validate=lambda v: _mixed_token(v[7:]),
)

OPENAI = Rule(
    "openai",
    re.compile(_start("sk-") + r"(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}"),
    validate=_openai_body,
)

GITHUB = Rule(
    "github",
    re.compile(_start("gh", "A-Za-z0-9_") + r"[pousr]_[A-Za-z0-9]{36,255}"),
    validate=lambda v: len(set(v)) >= 10 and not is_placeholder(v),
)

GITHUB_PAT = Rule(
    "github",
    re.compile(_start("github_pat_", "A-Za-z0-9_") + r"[A-Za-z0-9_]{22,255}(?![A-Za-z0-9_])"),
    validate=lambda v: len(set(v)) >= 10 and not is_placeholder(v),
)

SLACK = Rule(
    "slack",
    re.compile(_start("x") + r"(?:ox[abposre]-[A-Za-z0-9\-]{10,}|app-\d-[A-Za-z0-9\-]{10,})"),
    validate=_has_digit_tokenish,
)

SLACK_WEBHOOK = Rule(
    "slack_webhook",
    re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9_/\-]{8,})"),
    groups=("secret",),
    validate=_has_digit_tokenish,
)

AWS_ACCESS_KEY = Rule(
    "aws_access_key",
    re.compile(_start("A", "A-Za-z0-9") + r"(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Z0-9])"),
    validate=lambda v: len(set(v[4:])) >= 6,
)

URL_PASSWORD = Rule(
    "url_password",
    re.compile(r"://[^\s/:@'\"<>\[\]]{1,256}:(?P<secret>[^\s/@'\"<>\[\]]{1,256})@"),
    requires=("://", "@"),
    groups=("secret",),
    validate=lambda v: not is_placeholder(v) and v.lower() not in {"pass", "pw", "pwd"},
)


AWS_SECRET_KEY = Rule(
    "aws_secret_key",
    re.compile(
        _BOUNDARY + r"secret_?(?:access_?)?key" + _SEP + r"\\?[\"']?"
        r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        re.IGNORECASE,
    ),
    locators=_loc(r"secret_?(?:access_?)?key" + _SEP),
    groups=("secret",),
    validate=lambda v: is_tokenish(v, 40),
)

BEARER = Rule(
    "bearer",
    re.compile(_BOUNDARY + r"bearer\s+(?P<secret>[A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE),
    locators=_loc(r"bearer\s"),
    groups=("secret",),
    validate=is_tokenish,
)

BASIC_AUTH = Rule(
    "basic_auth",
    re.compile(
        _BOUNDARY + r"authorization" + _SEP + r"\\?[\"']?basic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})",
        re.IGNORECASE,
    ),
    locators=_loc(r"authorization" + _SEP + r"\\?[\"']?basic\s"),
    groups=("secret",),
    validate=lambda v: not is_placeholder(v),
)

# Key names whose value is a secret. The first names may stand alone (`password=`, `DB_PASSWORD=`,
# `x-api-key:`); `token` and `secret` need a prefix (`access_token`, `GITHUB_TOKEN`,
# `client_secret`), so a bare `token:` or `secret:` in prose is left alone.
_NAMES_ALONE = r"api[_\-]?key|apikey|pass(?:word|wd|phrase)|secret[_\-]?key"
_NAMES_PREFIXED = r"token|secret"
GENERIC_KEY_RE = re.compile(
    rf"(?:[A-Za-z0-9]+[_\-])*(?:{_NAMES_ALONE})|(?:[A-Za-z0-9]+[_\-])+(?:{_NAMES_PREFIXED})", re.IGNORECASE
)


def validate_generic(m: re.Match[str]) -> bool:
    if m.group("qsecret") is not None:
        return _quoted_value_ok(m.group("qsecret"))
    return _unquoted_value_ok(m.group("usecret"))


GENERIC = Rule(
    "secret",
    re.compile(
        rf"(?P<key>{_BOUNDARY}(?:{_NAMES_ALONE})|(?<=[A-Za-z0-9][_\-])(?:{_NAMES_PREFIXED}))"
        + _SEP
        + r"(?:(?P<q>\\?[\"'])(?P<qsecret>[^\"'\\\s]{6,512})(?P=q)"
        r"|(?P<usecret>[^\s\"'`,;&<>(){}\[\]\\]{8,}+)(?![(\[<{]))",
        re.IGNORECASE,
    ),
    locators=_loc(
        r"api[_\-]?key" + _SEP,
        r"pass(?:word|wd|phrase)" + _SEP,
        r"secret(?:[_\-]?key)?" + _SEP,
        r"token" + _SEP,
    ),
    groups=("qsecret", "usecret"),
    check_match=validate_generic,
    kind_of=lambda m: generic_kind(m.group("key")),
)

# One regex over the lower-cased text that finds every place where any built-in rule could start.
# Used for short strings only, where the per-rule calls cost more than this single scan.
SHORT_GATE = re.compile(
    r"-----begin |sk-|gh[pousr]_|github_pat_|xox|xapp-|hooks\.slack\.com/|a[ksbc][ic][ac]|://"
    r"|bearer|authorization|secret|api[_\-]?key|pass|token"
)
SHORT_TEXT = 256

BUILTIN_RULES: tuple[Rule, ...] = (
    PRIVATE_KEY,
    ANTHROPIC,
    OPENAI,
    GITHUB,
    GITHUB_PAT,
    SLACK,
    SLACK_WEBHOOK,
    AWS_ACCESS_KEY,
    AWS_SECRET_KEY,
    URL_PASSWORD,
    BEARER,
    BASIC_AUTH,
    GENERIC,
)


def sensitive_value_for_key(key: str, value: str) -> bool:
    """For JSON objects: is `value` a secret because of the name of its key (`{"password": ...}`)?"""
    return GENERIC_KEY_RE.fullmatch(key) is not None and not any(c.isspace() for c in value) and _quoted_value_ok(value)
