"""The built-in rules in the order they are applied, and the one-scan gate for short strings."""

from __future__ import annotations

import re

from dreamcli.redaction.command_line import COMMAND_LINE_RULES
from dreamcli.redaction.rules import (
    BASIC_AUTH,
    BEARER,
    GENERIC,
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
    *COMMAND_LINE_RULES,
    GENERIC,
)

# One regex over the lower-cased text that finds every place where any built-in rule could start.
# Used for short strings only, where the per-rule calls cost more than this single scan. It holds
# a literal (or a part of one) that each rule needs, grouped by first character: re tries every
# alternative at each character that starts one, so few first characters keep it fast. `url` is
# for `curl`, `sql` and `ariadb` for the MySQL/MariaDB clients, `pm_` for npm, `pass` also for
# sshpass. The positive samples in tests/redaction/test_redaction.py are short, so they go through it.
SHORT_GATE = re.compile(
    r"-----begin |s(?:k-|ecret|ql)|k_(?:live|test)_|g(?:h[pousr]_|ithub_pat_|l[a-z]{1,5}-)"
    r"|a(?:[ksbc][ic][ac]|iza|pi[_\-]?key|uthorization|riadb)|x(?:ox|app-)|hooks\.slack\.com/|://|bearer"
    r"|p(?:ass|wd|m_)|token|url"
)
SHORT_TEXT = 256
