"""The RE2 scan of long ASCII text (dreamcli.redaction.prefilter): wherever a built-in rule's regex
matches, the scan must hit, or a secret in a long tool output would be written out unredacted."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamcli.redaction import default_redactor, prefilter, redactor
from dreamcli.redaction.catalog import BUILTIN_RULES
from dreamcli.redaction.rules import Rule
from tests.redaction.test_redaction_fast_path import SAMPLES, _mix

re2 = pytest.importorskip("re2")  # the optional `fast` extra; the test extra installs it

_ASCII_SAMPLES = [text for text in SAMPLES if text.isascii()]
_FILLER = "2026-12-06 12:00:01 INFO build step 14/40 finished in 0.8 s (cache hit)\n" * 80  # > GATE_LIMIT


def _rule_scan(rule: Rule) -> re.Pattern[str]:
    return re2.compile(prefilter.rule_pattern(rule))  # type: ignore[no-any-return]


def _assert_scan_hits_where_rules_match(text: str) -> None:
    if not text.isascii():
        assert prefilter.clean(text) is None
        return
    for rule in BUILTIN_RULES:
        if rule.regex.search(text) is not None:
            assert _rule_scan(rule).search(text) is not None, (rule.regex.pattern, text)
    if redactor._rule_by_rule(text) is not text:
        assert prefilter.clean(text) is False


def test_mid_sized_text_is_judged_by_the_scan_too(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _FILLER[: redactor.PREFILTER_FROM + 1]
    assert len(text) <= redactor.GATE_LIMIT

    def no_gate(*args: object) -> object:
        raise AssertionError("went through the gate")

    monkeypatch.setattr(redactor, "_gate", no_gate)
    assert redactor.Redactor().redact_text(text) is text


def test_every_built_in_rule_translates_and_compiles() -> None:
    for rule in BUILTIN_RULES:
        _rule_scan(rule)
    re2.compile(prefilter.scan_pattern(BUILTIN_RULES))


@pytest.mark.parametrize("text", _ASCII_SAMPLES, ids=range(len(_ASCII_SAMPLES)))
def test_the_scan_hits_every_sample_a_rule_matches(text: str) -> None:
    _assert_scan_hits_where_rules_match(text)
    _assert_scan_hits_where_rules_match(_FILLER + text + _FILLER)


@settings(max_examples=600, deadline=None, derandomize=True)
@given(_mix())
def test_the_scan_hits_wherever_a_rule_matches(text: str) -> None:
    _assert_scan_hits_where_rules_match(text)


@pytest.mark.parametrize(
    "text",
    [
        _FILLER,
        _FILLER + "mkdir -p build && cp -r a b\n",  # `-p` with a space after it: no password
        _FILLER + "token = os.environ['X']\n",  # `token` with no prefix: the rule wants `api_token`
        _FILLER + "sk-learn and risk-free options\n",
    ],
)
def test_clean_long_text_costs_one_scan(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert prefilter.clean(text) is True

    def no_rule_scan(*args: object) -> str:
        raise AssertionError("scanned rule by rule")

    monkeypatch.setattr(redactor, "_rule_by_rule", no_rule_scan)
    monkeypatch.setattr(redactor, "_redact_builtin", no_rule_scan)
    assert redactor.Redactor().redact_text(text) is text


def test_a_secret_in_long_text_is_still_redacted() -> None:
    key = "sk-ant-api03-" + "Ab3" * 30
    text = _FILLER + f"export ANTHROPIC_API_KEY={key}\n" + _FILLER
    assert prefilter.clean(text) is False
    out = default_redactor().redact_text(text)
    assert key not in out and "[REDACTED:" in out


def test_custom_patterns_are_still_applied_to_clean_long_text() -> None:
    text = _FILLER + "employee id EMP-4242-XY\n"
    assert prefilter.clean(text) is True
    out = redactor.Redactor([r"EMP-\d{4}-[A-Z]{2}"]).redact_text(text)
    assert "EMP-4242-XY" not in out and "[REDACTED:custom]" in out


def test_text_that_is_not_ascii_is_not_judged() -> None:
    text = _FILLER + "café ſecret=hunter2hunter2\n"
    assert prefilter.clean(text) is None
    assert default_redactor().redact_text(text) == redactor._rule_by_rule(text)


def test_without_re2_nothing_is_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefilter, "_re2", lambda: None)
    prefilter._builtin_search.cache_clear()
    try:
        assert prefilter.clean(_FILLER) is None
        text = _FILLER + "password=correct-horse-battery\n"
        assert default_redactor().redact_text(text) == redactor._rule_by_rule(text) != text
    finally:
        prefilter._builtin_search.cache_clear()  # the next caller finds RE2 again


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r"ab(?<=xab)c", "(?:(?:x)abc)"),  # a lookbehind over the literal so far: what comes before it
        (r"a(?<!b)c(?=d)", "(?:ac)"),  # other lookarounds only narrow a match: dropped
        (r"k(?:-a|_b)", "(?:(?:k-a|k_b))"),  # the literal goes into each alternative
        (r"(?P<q>['\"]?)x(?P=q)", r"(?:(?:['\"]?)x(?:['\"]?))"),  # a backreference: the group again
        (r"a++b*+c?+", "(?:a+b*c?)"),  # possessive quantifiers: plain ones
        (r"\s\S[\d\w]", r"(?:[\t\n\x0b\x0c\r\x1c-\x1f ][^\t\n\x0b\x0c\r\x1c-\x1f ][0-90-9A-Za-z_])"),
        (r"x{1,256}y{2,8}z{3,}", "(?:x{1,}y{2,8}z{3,})"),  # long bounds lifted
        (r"[[:a]", r"(?:[\[:a])"),  # `[:` is no POSIX class in Python
        (r"a(?<=xa|ya)b", "(?:ab)"),  # a lookbehind that is an alternation is not one sequence: dropped
        (r"(?P<k>(?<=x)a)-(?P=k)", "(?:(?:(?:x)a)-(?:a))"),  # the copy needs nothing before it
    ],
)
def test_translation(source: str, expected: str) -> None:
    assert prefilter.translate(source) == expected
    re2.compile(expected)


@pytest.mark.parametrize("source", [r"a$", r"(?(1)a|b)", r"(a)\1", r"\Z", r"[\S]"])
def test_what_it_cannot_translate_is_refused(source: str) -> None:
    with pytest.raises(ValueError, match="cannot translate"):
        prefilter.translate(source)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(_mix(), min_size=1, max_size=6))
def test_long_text_gives_the_rule_by_rule_output(parts: list[str]) -> None:
    text = _FILLER + "\n".join(parts) + _FILLER
    out = default_redactor().redact_text(text)
    expected = redactor._rule_by_rule(text)
    assert out == expected
    assert (out is text) == (expected is text)


@pytest.mark.parametrize(
    ("source", "text"),
    [
        (r"a(?<=xa|ya)b", "xab"),
        (r"tok(?<=api_tok|pwd_tok)en=\w{8,}", "api_token=abcdefghij"),
        (r"(?P<k>(?<=x)a)-(?P=k)", "xa-a"),
        (r"-p(?:(?<=\s-p)x|(?<=sshpass -p) y)", "sshpass -p y"),
    ],
)
def test_the_translation_matches_wherever_the_source_does(source: str, text: str) -> None:
    assert re.search(source, text) is not None
    assert re2.search(prefilter.translate(source), text) is not None
