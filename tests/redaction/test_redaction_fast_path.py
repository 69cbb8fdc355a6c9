"""The fast path (one scan for all rules, dreamcli.redaction.gate) against the rule-by-rule reference:
the same output, the same object when nothing changed, and exactly the places each rule is tried."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamcli.redaction import default_redactor, redactor
from dreamcli.redaction.catalog import BUILTIN_RULES
from dreamcli.redaction.gate import FOLDS_TO_ASCII, LONGER_LOWER, Gate
from dreamcli.redaction.rules import Rule
from tests.redaction import test_redaction, test_redaction_shapes
from tests.redaction.support import ANTHROPIC_API, GH_PAT, NPM_TOKEN, OPAQUE, PASSWORD, SLACK_BOT, STRIPE_LIVE

SAMPLES = [
    *(text for text, _, _ in test_redaction.POSITIVES + test_redaction_shapes.POSITIVES),
    *test_redaction.NEGATIVES,
    *test_redaction_shapes.NEGATIVES,
]
# Pieces that make rules meet: prefixes without their token, key names without values, markers.
_PIECES = [
    "sk-", "k_live_", "gh", "AKIA", "npm_", "xoxb-", "hooks.slack.com/services/", "://u:", "@", "Bearer ",
    "Authorization: Basic ", "curl -u a:", "curl -u ", "mysql -p", "sshpass -p ", " -p", "password=", "PWD=",
    "api_key: ", "secret=", "token: ", "[REDACTED:token]", "-----BEGIN RSA PRIVATE KEY-----\n", "\\n", "|",
    ANTHROPIC_API, GH_PAT, NPM_TOKEN, OPAQUE, PASSWORD, SLACK_BOT, STRIPE_LIVE,
    # non-ASCII: `ı`/`ſ` match `i`/`s` under (?i) but not after lower(); Kelvin sign and `İ` go rule by rule
    "é", "ı", "ſecret=", "apı_key=", FOLDS_TO_ASCII, "to" + FOLDS_TO_ASCII + "en: ", LONGER_LOWER,
]  # fmt: skip
_SEPARATORS = ["", " ", "\n", "=", ": ", '"', "'", ",", "/", "\t", "\\n"]


def _mix() -> st.SearchStrategy[str]:
    piece = st.one_of(st.sampled_from(SAMPLES), st.sampled_from(_PIECES), st.text(max_size=8))
    return st.lists(st.tuples(st.sampled_from(_SEPARATORS), piece), max_size=12).map(
        lambda parts: "".join(sep + text for sep, text in parts)
    )


def _assert_same_as_reference(text: str) -> None:
    expected = redactor._rule_by_rule(text)
    out = default_redactor().redact_text(text)
    assert out == expected
    assert (out is text) == (expected is text)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(_mix())
def test_fast_path_gives_the_rule_by_rule_output(text: str) -> None:
    _assert_same_as_reference(text)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(_mix(), min_size=1, max_size=8))
def test_fast_path_agrees_on_long_text_too(parts: list[str]) -> None:
    """Past GATE_LIMIT text goes rule by rule; with the limit lifted the scan must still agree."""
    text = "\n".join(parts) * 40
    _assert_same_as_reference(text)
    limit = redactor.GATE_LIMIT
    redactor.GATE_LIMIT = 10**9
    try:
        _assert_same_as_reference(text)
    finally:
        redactor.GATE_LIMIT = limit


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_each_sample_alone_and_surrounded(text: str) -> None:
    _assert_same_as_reference(text)
    _assert_same_as_reference(f"ok\n{text}\n{text}")


def _reference_positions(rule: Rule, text: str) -> set[int]:
    """Where the rule-by-rule path tries the rule: every match of a case-sensitive rule's regex
    (finditer starts from these), every locator match in the lower-cased text."""
    if rule.locators:
        low = text.lower()
        return {m.start() for locator in rule.locators for m in locator.finditer(low)}
    return {pos for pos in range(len(text)) if rule.regex.match(text, pos) is not None}


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_the_scan_finds_exactly_where_each_rule_can_match(text: str) -> None:
    text = f"{text} {text.upper()}\n{text}"
    found = Gate(BUILTIN_RULES).candidates(text)
    assert found is not None
    for index, rule in enumerate(BUILTIN_RULES):
        assert set(found.get(index, ())) == _reference_positions(rule, text), rule.kind


def test_a_scan_from_a_later_rule_leaves_the_earlier_ones_out() -> None:
    text = f"token: {GH_PAT} password={PASSWORD} {STRIPE_LIVE}"
    first = next(i for i, rule in enumerate(BUILTIN_RULES) if rule.locators)
    found = Gate(BUILTIN_RULES, first).candidates(text)
    assert found and min(found) >= first
    assert set(found) < set(Gate(BUILTIN_RULES).candidates(text) or ())


@pytest.mark.parametrize(
    "line",
    [
        "tests/test_tokens.py::test_count_tokens[7] PASSED                 [ 7%]",
        "E   AssertionError: assert {'input_tokens': 7, 'output_tokens': 12} == {'input_tokens': 3}",
        "  Downloading https://files.pythonhosted.org/packages/ab/cd/requests-2.32.3.tar.gz",
        "The secret to a good playbook is short entries; see docs for the token budget.",
        "npm_config_cache=/tmp/.npm npm_lifecycle_event=test PWD=/work/app task_live_reload=1",
        "$ mkdir -p build && curl -fsSL https://example.com/v1/install.sh -o build/i.sh | sort -u",
    ],
)
def test_clean_near_misses_stop_in_the_scan(line: str) -> None:
    """Near-misses fail inside the one scan (in C): no rule is tried from Python."""
    assert Gate(BUILTIN_RULES).candidates(line) == {}
    assert Gate(BUILTIN_RULES).clean(line)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_mix())
def test_clean_says_yes_only_where_the_scan_finds_nothing(text: str) -> None:
    """`redact_text` returns short text untouched when `Gate.clean` says so, without the scan's details."""
    gate = Gate(BUILTIN_RULES)
    if gate.clean(text):
        assert gate.candidates(text) == {}
    elif text.isascii():  # beyond ASCII `(?i)` hits (`ſ` for `s`) may be dropped on the lower-cased text
        assert gate.candidates(text) != {}


@pytest.mark.parametrize("char", [FOLDS_TO_ASCII, LONGER_LOWER])
def test_text_whose_lower_case_does_not_map_goes_rule_by_rule(char: str) -> None:
    text = f"password=hunter22{char} api_key={OPAQUE}"
    assert Gate(BUILTIN_RULES).candidates(text) is None
    _assert_same_as_reference(text)
    assert "hunter22" not in default_redactor().redact_text(text)


def test_the_exceptions_to_lower_case_are_the_only_ones() -> None:
    """The scan relies on these two being the only characters that lower() maps to ASCII from
    outside it, or to more than one character (checked on this Python's Unicode tables)."""
    to_ascii = {c for c in map(chr, range(0x110000)) if not c.isascii() and c.lower().isascii()}
    longer = {c for c in map(chr, range(0x110000)) if len(c.lower()) != 1}
    assert to_ascii == {FOLDS_TO_ASCII}
    assert longer == {LONGER_LOWER}


def test_a_pivot_outside_the_literal_prefix_is_refused() -> None:
    rule = Rule("secret", re.compile(r"ab[cd]"), pivots=(2,))
    with pytest.raises(ValueError, match="literal prefix"):
        Gate([rule])
    with pytest.raises(ValueError, match="one pivot per locator"):
        Gate([Rule("secret", re.compile("x"), locators=(re.compile("ab"),), pivots=(0, 1))])


def test_rules_sharing_a_pivot_character_are_all_found() -> None:
    """`k` is the pivot of vendor tokens (`sk-`), `token` and `hooks.slack.com`: a hit of one
    branch must not hide another at the same character."""
    one = Rule("one", re.compile(r"ab(?=c)"))
    two = Rule("two", re.compile(r"a(?=bc)"))
    found = Gate([one, two]).candidates("xabc abd")
    assert found == {0: [1], 1: [1]}
