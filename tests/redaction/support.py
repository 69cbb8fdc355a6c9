"""Samples and shared checks for the redaction tests (tests/redaction/test_redaction*.py).

Samples are assembled at run time so no scanner mistakes these files for leaked keys.
"""

from __future__ import annotations

import random
import string

from dreamcli.redaction import default_redactor

_RNG = random.Random(20240611)
B62 = string.ascii_letters + string.digits
URLSAFE = B62 + "-_"


def rand(n: int, alphabet: str = B62) -> str:
    classes = [cls for cls in (str.isdigit, str.isupper, str.islower) if any(map(cls, alphabet))]
    while True:  # real tokens mix digits, upper and lower case (as far as the alphabet allows)
        s = "".join(_RNG.choice(alphabet) for _ in range(n))
        if all(any(map(cls, s)) for cls in classes):
            return s


ANTHROPIC_API = "sk-ant-" + "api03-" + rand(93, URLSAFE) + "AA"
ANTHROPIC_ADMIN = "sk-ant-" + "admin01-" + rand(93, URLSAFE) + "AA"
OPENAI_LEGACY = "sk-" + rand(20) + "T3Blbk" + "FJ" + rand(20)
OPENAI_PROJ = "sk-" + "proj-" + rand(156, URLSAFE)
OPENAI_SVC = "sk-" + "svcacct-" + rand(64, URLSAFE)
AWS_ID = "AKIA" + "".join(_RNG.choice(string.ascii_uppercase + "234567") for _ in range(16))
AWS_STS_ID = "ASIA" + "".join(_RNG.choice(string.ascii_uppercase + "234567") for _ in range(16))
AWS_SECRET = rand(40, B62 + "/+")
GH_PAT = "ghp_" + rand(36)
GH_OAUTH = "gho_" + rand(36)
GH_USER = "ghu_" + rand(36)
GH_SERVER = "ghs_" + rand(36)
GH_REFRESH = "ghr_" + rand(76)
GH_FINE = "github_" + "pat_" + rand(22) + "_" + rand(59)
SLACK_BOT = "xoxb-" + "123456789012-1234567890123-" + rand(24)
SLACK_USER = "xoxp-" + "123456789012-123456789012-1234567890123-" + rand(32).lower()
SLACK_APP_OLD = "xoxa-" + "2-" + rand(40)
SLACK_APP = "xapp-" + "1-A0123ABCDEF-1234567890123-" + rand(64, "0123456789abcdef")
SLACK_HOOK_PATH = "T0123ABCD/B0456EFGH/" + rand(24)
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + rand(40, URLSAFE) + "." + rand(43, URLSAFE)
OPAQUE = rand(32)
NPM_TOKEN = "npm_" + rand(36)
GITLAB_PAT = "glpat-" + rand(20)
GITLAB_ROUTABLE = "glpat-" + rand(27, URLSAFE) + ".01." + rand(9, string.ascii_lowercase + string.digits)
GITLAB_TRIGGER = "glptt-" + rand(40, "0123456789abcdef")
GOOGLE_KEY = "AIza" + "Sy" + rand(33, URLSAFE)
STRIPE_LIVE = "sk_" + "live_" + "51" + rand(97)
STRIPE_TEST = "sk_" + "test_" + rand(24)
STRIPE_RESTRICTED = "rk_" + "live_" + rand(24)
PASSWORD = "s3cr3t" + "Value99"
PASSPHRASE = "correct horse " + "battery staple"


def assert_redacted(text: str, secret: str | None, kind: str) -> None:
    """`secret` is gone, a `kind` marker is there, the text around it survives, idempotently."""
    r = default_redactor()
    out = r.redact_text(text)
    assert f"[REDACTED:{kind}]" in out, out
    if secret is not None:
        assert secret not in out
    # the text around the secret survives: only the secret itself is replaced
    prefix = text.split(secret)[0] if secret else text.split("Basic")[0]
    assert out.startswith(prefix)
    assert r.contains_secret(text)
    assert r.redact_text(out) == out  # idempotent


def assert_untouched(text: str) -> None:
    r = default_redactor()
    out = r.redact_text(text)
    assert out == text
    assert out is text
    assert not r.contains_secret(text)


def assert_fast_on_clean_text(lines: list[str]) -> None:
    """Clean lines take the one gate scan, and each line (short, the gate's case) and all of them at
    once (long, rule by rule) come back as the same object. Speed
    itself is measured in bench/bench_redaction.py, not timed here."""
    from dreamcli.redaction.catalog import BUILTIN_RULES
    from dreamcli.redaction.gate import Gate

    r = default_redactor()
    gate = Gate(BUILTIN_RULES)
    for line in lines:
        assert gate.candidates(line) is not None, line  # ASCII lines: the gate's case, not the fallback
        assert r.redact_text(line) is line
    text = "\n".join(lines) * 50
    assert r.redact_text(text) is text
