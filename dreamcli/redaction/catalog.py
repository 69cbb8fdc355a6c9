"""The built-in rules in the order they are applied (dreamcli.redaction.gate scans for all of them at once)."""

from __future__ import annotations

from dreamcli.redaction.command_line import COMMAND_LINE_RULES
from dreamcli.redaction.rules import (
    BASIC_AUTH,
    BEARER,
    GENERIC,
    HEADER_CREDENTIAL,
    PRIVATE_KEY,
    SLACK,
    SLACK_WEBHOOK,
    URL_PASSWORD,
    Rule,
)
from dreamcli.redaction.tokens import TOKEN_RULES

# Specific shapes first (their markers then stop the generic key rule), `key=value` last.
BUILTIN_RULES: tuple[Rule, ...] = (
    PRIVATE_KEY,
    *TOKEN_RULES,
    SLACK,
    SLACK_WEBHOOK,
    URL_PASSWORD,
    BEARER,
    BASIC_AUTH,
    HEADER_CREDENTIAL,
    *COMMAND_LINE_RULES,
    GENERIC,
)
