"""The `curl -u user:pass` rule (dreamcli.redaction.command_line.CURL_USER) on long lines.

Each attempt of the rule at a `curl` command reads the rest of its line for a user option. On a
line of many commands (a log dumped on one line, a JSON-escaped transcript where `\\n` ends no
line) it must stop at the next command, or the rule reads the line once per command: quadratic.
The work is measured here by what the rule's scan reads, not by a clock; the time itself is in
bench/bench_redaction.py ("one long line of curl commands").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamcli.redaction import command_line, default_redactor, prefilter
from dreamcli.redaction.command_line import CURL_USER
from tests.redaction.support import PASSWORD

MARKED = "[REDACTED:basic_auth]"
_COMMAND = re.compile(command_line._CURL)
# What one attempt reads before it looks at a user option: the rule's regex starts with it.
_SCAN = re.compile(command_line._CURL + command_line._ARGUMENTS)
# The rule as it was, reading each command to the end of its line: what it redacts is the reference.
_TO_LINE_END = r"(?:[^\n|;&\-]++|(?!(?<=[ \t])-" + command_line._USER_OPTION + r")-)*+"
_REFERENCE = re.compile(CURL_USER.regex.pattern.replace(command_line._ARGUMENTS, _TO_LINE_END))


def _stop(text: str, start: int = 0) -> int:
    """Where the attempt of the rule at the `curl` command at `start` stops reading."""
    scan = _SCAN.match(text, start)
    assert scan is not None
    return scan.end()


def _read(text: str) -> int:
    """How many characters the rule's attempts at all the `curl` commands in `text` read."""
    return sum(_stop(text, command.start()) - command.start() for command in _COMMAND.finditer(text))


def test_the_measured_scan_is_the_rules_own() -> None:
    assert CURL_USER.regex.pattern.startswith(command_line._CURL + command_line._ARGUMENTS)
    assert _REFERENCE.pattern != CURL_USER.regex.pattern


@pytest.mark.parametrize(
    "line",
    [
        "curl a b c " * 2000,
        "curl -X -H x " * 2000,
        "curl -u deploy https://x " * 1000,  # a user option without a password each time
        json.dumps("curl -s https://x.example.com/a\n" * 1000),  # `\n` escaped: one line
        "curl " + "x " * 10000,
    ],
    ids=["words", "options", "users-without-password", "json-escaped", "one-command"],
)
def test_a_line_of_curl_commands_is_read_once(line: str) -> None:
    assert _read(line) <= len(line)


def test_the_scan_stops_at_the_next_curl_command_only() -> None:
    assert _stop("curl -s x curl -u a:b") == len("curl -s x ")
    assert _stop("curl -s x\\ncurl -u a:b") == len("curl -s x\\n")  # JSON-escaped newline
    not_commands = "curl -s xcurl -curl curlx Curl c cu curl| y"
    assert _stop(not_commands) == not_commands.index("|")


@pytest.fixture(params=["re2", "no-re2"])
def redact(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """`redact_text` with the RE2 scan of long text, and without it (an install without `fast`)."""
    if request.param == "re2":
        pytest.importorskip("re2")
    else:
        monkeypatch.setattr(prefilter, "_re2", lambda: None)
    prefilter._builtin_search.cache_clear()
    try:
        yield default_redactor().redact_text
    finally:
        monkeypatch.undo()
        prefilter._builtin_search.cache_clear()  # the next caller finds RE2 again


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("curl a b c " * 5000, f"-u admin:{PASSWORD} https://x"),
        ("curl -u deploy https://x " * 3000, f"curl --user 'admin:{PASSWORD}' https://y"),
        (f"curl -u admin:{PASSWORD} https://x " + "curl a b c " * 5000, "curl -sSu ops:" + PASSWORD),
        ("curl -X POST -H x " * 3000, f"| sort -u a:b; password={PASSWORD}"),  # secret of another kind
    ],
    ids=["late-user", "late-after-users-without-password", "first-and-last", "other-secret"],
)
def test_long_line_redacts_what_short_lines_do(redact: Callable[[str], str], before: str, after: str) -> None:
    text = before + after
    expected = text.replace(f"password={PASSWORD}", "password=[REDACTED:password]").replace(PASSWORD, MARKED)
    assert redact(text) == expected


def test_long_json_escaped_line_redacts_the_late_command(redact: Callable[[str], str]) -> None:
    cmd = "curl -s https://x.example.com/a\n" * 2000 + f'curl -u "admin:{PASSWORD}" https://x\n'
    cmd += "curl -s https://x.example.com/b\n" * 2000
    out = redact(json.dumps({"cmd": cmd}))
    assert json.loads(out)["cmd"] == cmd.replace(PASSWORD, MARKED)


@pytest.mark.parametrize("line", ["curl a b c " * 5000, "curl -u deploy https://x:8080 " * 3000])
def test_long_clean_line_is_untouched(redact: Callable[[str], str], line: str) -> None:
    assert redact(line) is line


_PIECES = [
    "curl ", " curl ", "\\ncurl ", "\\tcurl ", "xcurl ", "-curl ", "curlx ", "curl\t", " -u a:b", " -u ab",
    " -su 'a:b'", ' -u \\"a:b\\"', " --user=a:b", " --proxy-user x:y", " -U a:", " -uadmin:pw", " -u $U:$P",
    " -X", " -H h", " x", " c", " cu", " |", "\n", ";", "&", " -u [REDACTED:x]:y", " -u 'a:b", " -x -u",
    " a:b", " -", "\t-u\tq:w", " --user", " -Uu a:b", " -uu", ":", "'", "\\",
]  # fmt: skip


def _secrets(regex: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span("secret") for m in regex.finditer(text)]


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12).map("".join))
def test_stopping_at_the_next_command_finds_the_same_secrets(text: str) -> None:
    assert _secrets(CURL_USER.regex, text) == _secrets(_REFERENCE, text)
