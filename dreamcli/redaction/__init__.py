"""Secret redaction, applied before anything is written to disk or sent to a model.

    from dreamcli.redaction import for_config, for_patterns, default_redactor
    r = for_config(config)            # built-in rules + config.yaml `redaction.patterns` (one shared object)
    r = for_patterns(extra_patterns)  # the same from a list of regexes; default_redactor(): built-ins only
    r.redact_text(s)                  # each secret -> "[REDACTED:<kind>]"
    r.redact_obj(obj)                 # JSON-like copy; the same object when nothing changed
    r.contains_secret(s)

Kinds: private_key, anthropic, openai, github, slack, slack_webhook, aws_access_key, aws_secret_key,
npm, gitlab, google_api_key, stripe, jwt, url_password, bearer, basic_auth (also `curl -u user:pass`),
authorization and cookie (a header's whole value),
password (also `mysql -pPASS`, `sshpass -p PASS`), api_key, token, secret, custom.
"""

from dreamcli.redaction.redactor import CUSTOM_KIND, Redactor, default_redactor, for_config, for_patterns
from dreamcli.redaction.rules import MARKER_RE, marker

__all__ = ["CUSTOM_KIND", "MARKER_RE", "Redactor", "default_redactor", "for_config", "for_patterns", "marker"]
