"""Lint for playbook entry text, used by `dreamcli dream` on every proposed operation, by approval
on a reviewer's edit, and by `dreamcli playbooks lint NAME` on live entries. What else of a playbook goes
into a run's system prompt (its description, its section headings: `prompt_parts`) is linted with the
same rules by `playbooks lint` and `dreamcli import`.

    from dreamcli.playbooks.lint import lint_entry_text, has_blocking
    findings = lint_entry_text(text, config)  # config: dreamcli.config.Config (or just its LintConfig)
    [LintFinding(severity="block", rule="forbid-phrase", message="contains the forbidden phrase ...")]

Rules (severity `block` prevents approval without `--force`; `warn` is shown to the reviewer):

| rule                | severity | what                                                                  |
| ------------------- | -------- | --------------------------------------------------------------------- |
| `forbid-phrase`     | block    | contains a phrase from `lint.forbid_phrases` (case and spacing ignored) |
| `contradicts-phrase`| warn     | uses every content word of a forbidden phrase in other words           |
| `forbid-pattern`    | block    | matches a regex from `lint.forbid_patterns`                            |
| `secret`            | block    | contains a secret (dreamcli.redaction, plus `redaction.patterns`)      |
| `injection`         | block    | reads like instructions injected from tool output ("ignore previous |
|                     |          | instructions", "do not tell the user", a download or decoded text    |
|                     |          | piped into a shell, however quoted, spelled or hidden, ...)           |
| `hidden-text`       | block    | holds zero-width or bidi control characters                           |
| `control-chars`     | block    | holds control characters (ESC, BEL, U+009B, DEL, CR; not newline or tab) |
| `unknown-host`      | warn     | links to a host not in `lint.allowed_hosts` (and not a subdomain of one), |
|                     |          | or to a URL whose host cannot be read                                 |
| `old-secret`        | warn     | (`lint_operation`) the text an operation replaces or retires holds a secret |
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

from dreamcli.config import Config, LintConfig
from dreamcli.playbooks.model import Playbook
from dreamcli.playbooks.proposal_model import BLOCK, WARN, LintFinding, Operation
from dreamcli.textnorm import fold, strip_hidden
from dreamcli.words import stems


def _finding(severity: str, rule: str, message: str) -> LintFinding:
    return LintFinding(severity=severity, rule=rule, message=message)


_INJECTION = [
    (re.compile(r"(?is)\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all|any|"
                r"system|your|the)\b.{0,20}\b(instructions?|prompts?|rules?|guidelines?|directions?)\b"),
     "tells the agent to ignore its instructions"),
    (re.compile(r"(?i)\byou are now\b|\bact as an? (unrestricted|jailbroken)\b|\bdeveloper mode\b"),
     "tries to change the agent's role"),
    (re.compile(r"(?im)^\s*(system|assistant)\s*:|<\s*/?\s*(system|instructions?)\s*>|\bnew instructions?\s*:"),
     "looks like a prompt or system message"),
    (re.compile(r"(?i)\b(do not|don'?t|never)\s+(tell|inform|notify|alert)\s+the\s+(user|reviewer|human)\b"),
     "asks the agent to hide something from the user"),
    (re.compile(r"(?is)\b(exfiltrate|send|upload|post|leak|email)\b.{0,60}\b(credentials?|api[_ -]?keys?|"
                r"secrets?|tokens?|passwords?|\.env\b|ssh keys?)"),
     "asks the agent to send credentials somewhere"),
    (re.compile(r"(?i)\b(curl|wget|fetch|iwr|invoke-webrequest|irm|invoke-restmethod|nc|ncat)\b[^\n|]{0,200}\|"
                r"\s*(sudo\s+(-\w+\s+)*)?(env\s+)?(/usr)?(/bin/)?((ba|z|da|k|fi|c)?sh|python[\d.]*|perl|ruby|node|php|"
                r"iex|invoke-expression|source|\.\s|\$\{?\w+\}?)"), "pipes a download into a shell"),
    (re.compile(r"(?i)\bbase(32|64)\s+(-\w*d\w*|--decode)\b[^\n|]{0,200}\|\s*(sudo\s+)?(env\s+)?(/usr)?(/bin/)?"
                r"((ba|z|da|k)?sh|python[\d.]*|perl|\$\{?\w+\}?)\b"), "pipes decoded text into a shell"),
    (re.compile(r"(?i)\b((ba|z|da|k)?sh|eval|source|\.)\s+(-c\s+)?[(<\s]*\$?\(\s*(curl|wget|fetch)\b|"
                r"\b((ba|z|da|k)?sh|source|\.)\s+<\s*\(\s*(curl|wget)\b|\beval\s+\$?\(?\s*(curl|wget|base64)\b"),
     "runs a download in a shell"),
    (re.compile(r"(?i)\b(disable|bypass|skip|turn off)\b.{0,30}\b(safety|approvals?|guardrails?|sandbox|"
                r"redaction)\b"), "asks the agent to bypass a safeguard"),
]
# C0 controls but tab and newline (CR only when a newline follows), DEL, C1 controls: a terminal sequence
# (ESC, U+009B) in an entry would act on every terminal that shows the playbook, export or prompt
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
_URL = re.compile(r"(?i)\b(?:https?|ftp|wss?)://[^\s<>\"'`)\]]+|\bwww\.[a-z0-9.-]+\.[a-z]{2,}\b")


@lru_cache(maxsize=8)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error:
            continue  # config validation reports invalid patterns with their line
    return tuple(out)


def _redactor(patterns: tuple[str, ...]) -> Any:
    from dreamcli.redaction import for_patterns

    return for_patterns(patterns)


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def lint_entry_text(text: str, config: Config | LintConfig | None = None) -> list[LintFinding]:
    """Every policy finding for one entry's text (empty list: clean). With only a `LintConfig`, secrets
    are found by the built-in redaction rules alone (no `redaction.patterns`)."""
    if isinstance(config, LintConfig):
        config = Config(lint=config)
    config = config or Config()
    lint = config.lint
    findings: list[LintFinding] = []
    flat = _squash(text)
    words = stems(text)
    for phrase in lint.forbid_phrases:
        p = _squash(phrase)
        if not p:
            continue
        if p in flat:
            findings.append(_finding(BLOCK, "forbid-phrase", f"contains the forbidden phrase {phrase!r}"))
            continue
        needed = stems(phrase)
        if len(needed) >= 2 and needed <= words:
            findings.append(_finding(WARN, "contradicts-phrase",
                                    f"uses the words of the forbidden phrase {phrase!r}; check it does not say "
                                    "the same"))
    for pattern in _compiled(tuple(lint.forbid_patterns)):
        m = pattern.search(text)
        if m:
            findings.append(_finding(BLOCK, "forbid-pattern",
                                    f"matches the forbidden pattern {pattern.pattern!r} ({m.group(0)[:60]!r})"))
    if _redactor(tuple(config.redaction.patterns)).contains_secret(text):
        findings.append(_finding(BLOCK, "secret",
                                "contains what looks like a secret (credentials never go in a playbook)"))
    controls = sorted(set(_CONTROL_CHARS.findall(text)))
    if controls:
        shown = ", ".join(c.encode("unicode_escape").decode("ascii") for c in controls[:5])
        findings.append(_finding(BLOCK, "control-chars", f"holds control character(s) ({shown}) that a terminal "
                                                          "would act on: remove them"))
    findings.extend(injection_findings(text))
    findings.extend(_host_findings(text, lint))
    return findings


def _host_findings(text: str, lint: LintConfig) -> list[LintFinding]:
    """The `unknown-host` findings of a text. A redaction marker stands for a plain word first, so the
    redactor's own output (`https://user:[REDACTED:url_password]@host`) is read for its real host. A URL
    that still cannot be parsed (`https://[bad/`) is treated as linking to an unknown host: it is warned
    about, without its text, rather than skipped, so an odd spelling cannot hide a link from the reviewer."""
    from dreamcli.redaction import MARKER_RE

    allowed = [h.lower().lstrip(".") for h in lint.allowed_hosts]
    seen: set[str] = set()
    findings: list[LintFinding] = []
    for m in _URL.finditer(MARKER_RE.sub("REDACTED", text)):
        url = m.group(0)
        try:
            host = (urlparse(url if "://" in url else "http://" + url).hostname or "").lower()
        except ValueError:  # an unbalanced "[" in the host, a bad port: Python cannot tell the host
            if "" not in seen:
                seen.add("")
                findings.append(_finding(WARN, "unknown-host", "links to a URL whose host cannot be read: check "
                                                               "where it points"))
            continue
        if not host or host in seen:
            continue
        seen.add(host)
        if not any(host == a or host.endswith("." + a) for a in allowed):
            findings.append(_finding(WARN, "unknown-host", f"links to {host}, which is not in lint.allowed_hosts"))
    return findings


def injection_findings(text: str) -> list[LintFinding]:
    """The `injection` (and `hidden-text`) findings of a text, found in the text as written and as a
    shell would read it (`dreamcli.textnorm.fold`: hidden characters, look-alike letters, quotes)."""
    findings = []
    hidden = strip_hidden(text)[1]
    if hidden:
        findings.append(_finding(BLOCK, "hidden-text", f"holds {hidden} invisible (zero-width or bidi control) "
                                                         "character(s) that hide what it says"))
    folded = fold(text)
    for regex, why in _INJECTION:
        m = regex.search(text) or (regex.search(folded) if folded != text else None)
        if m:
            findings.append(_finding(BLOCK, "injection", f"{why}: {m.group(0)[:80]!r}"))
    return findings


def lint_operation(op: Operation, config: Config | LintConfig | None = None) -> list[LintFinding]:
    """Findings for one proposed operation: every rule on its new text, and the secret rule on the text it
    replaces or retires (a memory note may hold a credential; the proposal shows that text redacted)."""
    text = op.text
    findings = lint_entry_text(text, config) if text else []
    old = op.old_text
    if old and old != text:
        patterns = tuple(config.redaction.patterns) if isinstance(config, Config) else ()
        if _redactor(patterns).contains_secret(old):
            findings.append(_finding(WARN, "old-secret",
                                     "the text this operation replaces holds what looks like a secret (redacted "
                                     "here, so approval may report a conflict): remove it from the source by hand"))
    return findings


def prompt_parts(pb: Playbook) -> list[tuple[str, str]]:
    """What of `pb` besides its entries an agent's system prompt holds (dreamcli.agent.context), as
    (part, text): ("description", the description) when set, then ("section", title) once a title."""
    parts = [("description", pb.description)] if pb.description.strip() else []
    return parts + [("section", title) for title in dict.fromkeys(pb.sections) if title]


def has_blocking(findings: list[LintFinding]) -> bool:
    return any(f.severity == BLOCK for f in findings)
