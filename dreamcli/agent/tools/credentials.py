"""The run's redactor: the configured one plus the literal values of the model credentials the
process was started with.

`bash` commands do not see `ANTHROPIC_*` variables, but they can read them back (from
`/proc/$PPID/environ`, say), and a key of a local proxy matches no redaction rule. So the run's
session log, what goes back to the model and the memory tool redact those values too (each at least
`MIN_LENGTH` characters, as a `[REDACTED:custom]` pattern: `Redactor` marks every added pattern
`custom`). The values are never printed: a pattern is built with `re.escape`, which always compiles.
"""

from __future__ import annotations

import os
import re

from dreamcli.config import Config
from dreamcli.redaction import Redactor, for_patterns

CREDENTIAL_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
MIN_LENGTH = 8


def credential_patterns() -> list[str]:
    """One literal pattern per credential in the environment that is long enough to redact safely."""
    values = {os.environ.get(name, "").strip() for name in CREDENTIAL_VARS}
    return [re.escape(v) for v in sorted(values, key=lambda v: (-len(v), v)) if len(v) >= MIN_LENGTH]


def run_redactor(config: Config) -> Redactor:
    """`redaction.for_config(config)` that also redacts the credentials this process was started with."""
    return for_patterns([*config.redaction.patterns, *credential_patterns()])
