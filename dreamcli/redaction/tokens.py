"""API keys and tokens recognised by their vendor prefix: Anthropic, OpenAI, Stripe, GitHub, GitLab,
AWS access key ids, Google API keys, npm; and JSON Web Tokens by their shape.

Speed: a case-sensitive rule costs one C-level scan of the whole text for the literal its regex
starts with, however rare the rest of the prefix is. So tokens whose prefixes share a character
are one rule whose regex starts with that character and branches on the rest: `k` for `sk-ant-`,
`sk-`, `sk_live_` and `rk_live_`; `g` for `ghp_`, `github_pat_` and `glpat-`; `A` for `AKIA` and
`AIza`. The prefix's first character(s) before the shared one (the `s` of `sk-`) are the rule's
`lead`: a lookbehind checks them, and the marker replaces them too. Each branch's body is one named
group; its name gives the kind and picks the body check. The check that a prefix is not glued to a
word comes after the branch's literal (`not_glued`), so most hits of the shared character fail at once.
A new prefix joins the rule whose literal it shares at the same lead (`dk_live_` would be a branch of
`K_TOKENS`, not a rule for `d`); docs/architecture.md, "How to add a secret-redaction rule".

The prefix alone is not enough (`npm_config_cache`, `sk_test_mode`, "desk-ant-colony-framework",
`glpat-xxxxxxxxxxxxxxxxxxxx`): bodies must have the vendor's length and alphabet and look random.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dreamcli.redaction.rules import Rule, is_placeholder, is_tokenish, not_glued, random_body, token_start


def _mixed_token(body: str) -> bool:
    """Digits, upper and lower case, and tokenish: what random base62/base64url keys look like."""
    return (
        is_tokenish(body, 20)
        and any(c.isdigit() for c in body)
        and any(c.isupper() for c in body)
        and any(c.islower() for c in body)
    )


def _openai_body(body: str) -> bool:
    if "T3BlbkFJ" in body:  # base64 of "OpenAI", present in most OpenAI keys
        return not is_placeholder(body)
    return _mixed_token(body)


def _varied(body: str) -> bool:
    return len(set(body)) >= 10 and not is_placeholder(body)


def _branch_rule(regex: str, branches: dict[str, tuple[str, Callable[[str], bool]]], lead: int = 0) -> Rule:
    """A rule whose regex has one named group per branch: group name -> (kind, body check)."""

    def check(m: re.Match[str]) -> bool:
        name = m.lastgroup
        return name is not None and branches[name][1](m.group(name))

    def kind(m: re.Match[str]) -> str:
        return branches[m.lastgroup or ""][0]

    return Rule("token", re.compile(regex), check_match=check, kind_of=kind, lead=lead)


# `sk-ant-` (Anthropic; no left boundary: "sk-ant-" is distinctive and a key glued to other text
# must still go), `sk-` (OpenAI, optionally `proj-`...), `sk_`/`rk_` + `live_`/`test_` (Stripe
# secret and restricted keys, 24 base62 or more: 99 today). The lead `s`/`r` is 1 character.
K_TOKENS = _branch_rule(
    r"k(?:-ant-(?<=sk-ant-)(?P<anthropic>[A-Za-z0-9_\-]{20,})"
    r"|-(?<=sk-)" + not_glued(3, "A-Za-z0-9_\\-") + r"(?P<openai>(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,})"
    r"|_(?:live|test)_(?<=[sr]k_[a-z]{4}_)" + not_glued(8, "A-Za-z0-9_") + r"(?P<stripe>[A-Za-z0-9]{24,255})"
    r"(?![A-Za-z0-9_]))",
    {"anthropic": ("anthropic", _mixed_token), "openai": ("openai", _openai_body), "stripe": ("stripe", random_body)},
    lead=1,
)

# GitHub `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` + 36 or more, `github_pat_` + 22 or more; GitLab
# personal, deploy, runner, trigger, feed, CI job, OAuth, SCIM, incoming-mail, agent and workspace
# tokens: `glpat-` + 20, or the routable form `glpat-<27 or more>.<2><7>`.
G_TOKENS = _branch_rule(
    r"g(?:h[pousr]_" + not_glued(4, "A-Za-z0-9_") + r"(?P<github>[A-Za-z0-9]{36,255})"
    r"|ithub_pat_" + not_glued(11, "A-Za-z0-9_") + r"(?P<github_pat>[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])"
    r"|l" + not_glued(2, "A-Za-z0-9_\\-") + r"(?:pat|dt|rt|ptt|ft|cbt|oas|soat|imt|agent|wt)-"
    r"(?P<gitlab>[A-Za-z0-9_\-]{20,300}(?:\.[A-Za-z0-9_\-]+)*))",
    {"github": ("github", _varied), "github_pat": ("github", _varied), "gitlab": ("gitlab", random_body)},
)

# AWS access key ids (`AKIA`, `ASIA`, `ABIA`, `ACCA` + 16), Google API keys (`AIza` + 35 base64url).
A_KEYS = _branch_rule(
    r"A(?:(?:KIA|SIA|BIA|CCA)" + not_glued(4, "A-Za-z0-9") + r"(?P<aws_access_key>[A-Z0-9]{16})(?![A-Z0-9])"
    r"|Iza" + not_glued(4, "A-Za-z0-9_\\-") + r"(?P<google_api_key>[A-Za-z0-9_\-]{35})(?![A-Za-z0-9_\-]))",
    {
        "aws_access_key": ("aws_access_key", lambda v: len(set(v)) >= 6),
        "google_api_key": ("google_api_key", random_body),
    },
)

# npm access tokens: `npm_` + 36 base62 (30 random + a 6-character checksum).
NPM = Rule(
    "npm",
    re.compile(token_start("npm_", "A-Za-z0-9_") + r"[A-Za-z0-9]{36}(?![A-Za-z0-9_])"),
    validate=lambda v: random_body(v[4:]),
    pivots=(1,),  # the `p`: the scan tries fewer places than at each `n`
)

# JSON Web Tokens: a base64url header, a JSON object (so `eyJ`, base64 of `{"`), a payload (a JSON object
# too, or encrypted) and a signature (empty for an unsigned token). After `Bearer` the bearer rule would take
# one too; bare (a cookie, a URL, a config file, an error message) only this rule does. Replaced whole.
JWT = Rule(
    "jwt",
    re.compile(token_start("eyJ", "A-Za-z0-9_\\-") + r"[A-Za-z0-9_\-]{8,}=*\.[A-Za-z0-9_\-]{8,}=*\.[A-Za-z0-9_\-]*=*"),
    pivots=(2,),  # the `J`: the scan tries fewer places than at each `e`
)

TOKEN_RULES: tuple[Rule, ...] = (K_TOKENS, G_TOKENS, A_KEYS, NPM, JWT)
