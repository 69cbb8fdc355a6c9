"""Samples and shared checks for the redaction tests (tests/redaction/test_redaction*.py).

Samples are assembled at run time so no scanner mistakes these files for leaked keys. Each sample here
draws from a random generator seeded by its own name, so adding, removing or moving one leaves every
other sample's value as it was.
"""

from __future__ import annotations

import random
import string
import sys

from dreamcli.redaction import default_redactor

_SEED = 20240611
B62 = string.ascii_letters + string.digits
URLSAFE = B62 + "-_"
_MODULE_RNGS: dict[str, random.Random] = {}


def rand(n: int, alphabet: str = B62, *, seed: str | None = None) -> str:
    """`n` random characters of `alphabet`, the same on every run. With `seed` (a sample's name), from a
    generator of their own; without, from the calling module's own generator, so values drawn in one test
    file never shift another's."""
    if seed is not None:
        rng = random.Random(f"{_SEED}:{seed}")
    else:
        module = sys._getframe(1).f_globals.get("__name__", "")
        rng = _MODULE_RNGS.setdefault(module, random.Random(f"{_SEED}:{module}"))
    classes = [cls for cls in (str.isdigit, str.isupper, str.islower) if any(map(cls, alphabet))]
    while True:  # real tokens mix digits, upper and lower case (as far as the alphabet allows)
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if all(any(map(cls, s)) for cls in classes):
            return s


ANTHROPIC_API = "sk-ant-" + "api03-" + rand(93, URLSAFE, seed="ANTHROPIC_API") + "AA"
ANTHROPIC_ADMIN = "sk-ant-" + "admin01-" + rand(93, URLSAFE, seed="ANTHROPIC_ADMIN") + "AA"
OPENAI_LEGACY = "sk-" + rand(20, seed="OPENAI_LEGACY") + "T3Blbk" + "FJ" + rand(20, seed="OPENAI_LEGACY/2")
OPENAI_PROJ = "sk-" + "proj-" + rand(156, URLSAFE, seed="OPENAI_PROJ")
OPENAI_SVC = "sk-" + "svcacct-" + rand(64, URLSAFE, seed="OPENAI_SVC")
AWS_ID = "AKIA" + rand(16, string.ascii_uppercase + "234567", seed="AWS_ID")
AWS_STS_ID = "ASIA" + rand(16, string.ascii_uppercase + "234567", seed="AWS_STS_ID")
AWS_SECRET = rand(40, B62 + "/+", seed="AWS_SECRET")
GH_PAT = "ghp_" + rand(36, seed="GH_PAT")
GH_OAUTH = "gho_" + rand(36, seed="GH_OAUTH")
GH_USER = "ghu_" + rand(36, seed="GH_USER")
GH_SERVER = "ghs_" + rand(36, seed="GH_SERVER")
GH_REFRESH = "ghr_" + rand(76, seed="GH_REFRESH")
GH_FINE = "github_" + "pat_" + rand(22, seed="GH_FINE") + "_" + rand(59, seed="GH_FINE/2")
SLACK_BOT = "xoxb-" + "123456789012-1234567890123-" + rand(24, seed="SLACK_BOT")
SLACK_USER = "xoxp-" + "123456789012-123456789012-1234567890123-" + rand(32, seed="SLACK_USER").lower()
SLACK_APP_OLD = "xoxa-" + "2-" + rand(40, seed="SLACK_APP_OLD")
SLACK_APP = "xapp-" + "1-A0123ABCDEF-1234567890123-" + rand(64, "0123456789abcdef", seed="SLACK_APP")
SLACK_HOOK_PATH = "T0123ABCD/B0456EFGH/" + rand(24, seed="SLACK_HOOK_PATH")
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + rand(40, URLSAFE, seed="JWT") + "." + rand(43, URLSAFE, seed="JWT/2")
OPAQUE = rand(32, seed="OPAQUE")
NPM_TOKEN = "npm_" + rand(36, seed="NPM_TOKEN")
GITLAB_PAT = "glpat-" + rand(20, seed="GITLAB_PAT")
GITLAB_ROUTABLE = ("glpat-" + rand(27, URLSAFE, seed="GITLAB_ROUTABLE") + ".01."
                   + rand(9, string.ascii_lowercase + string.digits, seed="GITLAB_ROUTABLE/2"))
GITLAB_TRIGGER = "glptt-" + rand(40, "0123456789abcdef", seed="GITLAB_TRIGGER")
GOOGLE_KEY = "AIza" + "Sy" + rand(33, URLSAFE, seed="GOOGLE_KEY")
STRIPE_LIVE = "sk_" + "live_" + "51" + rand(97, seed="STRIPE_LIVE")
STRIPE_TEST = "sk_" + "test_" + rand(24, seed="STRIPE_TEST")
STRIPE_RESTRICTED = "rk_" + "live_" + rand(24, seed="STRIPE_RESTRICTED")
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
