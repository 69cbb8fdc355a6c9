"""The dream redacts what it keeps of a session before it masks, templates or cuts it (review-dream defect 3):
a secret cut at the excerpt's or the template's end, or masked into `postgres:/<path>:…`, no longer matches
its rule, so redacting only the finished proposal let 7 of 8 digits of a key, or a password, through.
Built-in rules (for a log written before a rule existed) and config `redaction.patterns` (added after the
sessions were logged), in this process and in the scanning workers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.executors import LocalExecutor, use_executor
from dreamcli.dream.scan import scan_files
from dreamcli.dream.selection import PlaybookScope
from dreamcli.dream.text import MAX_TEMPLATE, call_display, error_template, excerpt
from dreamcli.redaction import default_redactor, for_patterns
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession, dream, entry_texts, written

pytestmark = pytest.mark.usefixtures("no_model")

KEY = "ACME-20261187"
CUSTOM = ("ACME-[0-9]{8}",)
DB_URL = "postgres://admin:Hunter2-s3cret@db.internal:5432/prod"
GH_TOKEN = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
NOW = datetime(2027, 6, 1, tzinfo=UTC)


def _licence_error() -> str:
    """An error whose key starts near character 152 of the evidence excerpt `acme-analyze ... -> <error>`."""
    head = "acme-analyze run contracts/ -> "
    words = ("error: licence server said: request for the contract analytics module was denied for this "
             "workstation because the seat is bound to")
    return words[: 146 - len(head)].rstrip() + f" {KEY} (expired)"


def test_a_pattern_added_to_config_after_the_sessions_were_logged_reaches_no_file(ws: Workspace) -> None:
    for hour in range(3):
        s = RawSession(ws, hour, task="misc")
        s.call("bash", {"command": "acme-analyze run contracts/"}, _licence_error(), error=True)
        s.say("I can't run the analyzer.")
        s.end()
    ws.config_path.write_text('redaction:\n  patterns: ["ACME-[0-9]{8}"]\n')

    result = dream(ws)

    texts = entry_texts(result)
    assert len(texts) == 1 and "[REDACTED:custom]" in texts[0]
    out = written(ws)
    assert "ACME-2" not in out  # not the key, nor the 7 of its 8 digits the excerpt's cut left
    assert "[REDACTED:custom]" in out


def test_an_old_log_is_redacted_with_the_built_in_rules_before_it_is_masked(ws: Workspace) -> None:
    message = ("psql: error: connection to server failed: FATAL: password authentication failed for user "
               f'"admin" (DATABASE_URL={DB_URL}) token {GH_TOKEN}')
    for hour in range(3):
        s = RawSession(ws, hour, task="misc")
        s.call("bash", {"command": "psql -c 'select 1'"}, message, error=True)
        s.say("I could not connect.")
        s.end()

    result = dream(ws)

    assert result["operations"], "the recurring error is proposed"
    out = written(ws)
    for part in ("Hunter2", "s3cret", "ghp_a1"):
        assert part not in out
    assert "[REDACTED:url_password]" in out


def test_templates_excerpts_and_calls_are_redacted_before_they_are_cut() -> None:
    redact = default_redactor().redact_text
    # a token that the template's cut (after masking) and the excerpt's cut would split
    message = "x" * (MAX_TEMPLATE - 8) + f" token {GH_TOKEN} rejected"
    assert "ghp_" not in error_template(message, redact=redact)
    assert "ghp_" not in excerpt(message, 200, redact=redact)
    assert "[REDACTED:github]" in excerpt("y" * 100 + f" {GH_TOKEN}", redact=redact)
    # a password masked as a path (`postgres:/<path>:Hunter2…`) if it were masked first
    assert "Hunter2" not in error_template(f"connect failed ({DB_URL})", redact=redact)
    # a shell command cut to 200 characters, a tool's argument cut to 60
    command = "psql " + "-v x=1 " * 25 + DB_URL  # the display's cut leaves `admin:Hun`: no longer a URL password
    assert "admin:Hun" in command[:200] and "admin:Hun" not in call_display("bash", {"command": command}, redact)
    url = "https://admin:Hunter2-s3cret@contracts.internal.example/api/v2/documents"
    assert "Hunter2" not in call_display("WebFetch", {"url": url, "prompt": "the clauses"}, redact)
    custom = for_patterns(CUSTOM).redact_text
    assert KEY[:-1] not in excerpt(f"{_licence_error()}", redact=custom)


def _sessions(ws: Workspace, n: int) -> list[str]:
    """Sessions where a custom secret is in an error, a command, the agent's words, the user's correction
    and a memory note."""
    paths = []
    for hour in range(n):
        s = RawSession(ws, hour)
        s.call("read", {"file_path": f"msa-{hour}.doc"}, f"read: msa-{hour}.doc: not valid UTF-8 ({KEY})", error=True)
        s.call("bash", {"command": f"soffice --headless --convert-to docx 'msa-{hour}.doc' --licence {KEY}"}, "ok",
               said=f"The .doc is the old Word format; soffice converts it with licence {KEY}.")
        for _ in range(3):
            s.call("bash", {"command": f"acme-sync --key {KEY}"}, "pending")
        s.call("memory", {"command": "create", "path": "/memories/acme.md",
                          "file_text": f"The ACME licence key is {KEY}; pass it to soffice and acme-sync."}, "ok")
        s.say("Done.")
        s.user(f"No, never paste the licence key {KEY} into the summary.")
        s.end()
        paths.append(str(s.path))
    return paths


@pytest.mark.parametrize("workers", [1, 2])
def test_everything_the_scan_keeps_is_redacted_in_this_process_and_in_workers(ws: Workspace, workers: int) -> None:
    files = _sessions(ws, 4)
    agg = Aggregates()
    with use_executor(LocalExecutor(workers)):  # two: one chunk per file, the first one scanned by a worker
        read, _ = scan_files(files, agg, playbook="default", scope=PlaybookScope("default"), now=NOW,
                             redaction=CUSTOM)
    assert len(read.ids) == 4
    state = json.dumps(agg.to_json())
    kinds = {p.kind for p in agg.patterns.values()}
    assert {"error", "loop", "memory", "correction"} <= kinds
    assert any(p.recoveries for p in agg.patterns.values())
    assert "ACME-2" not in state
    assert "[REDACTED:custom]" in state


def test_the_scan_state_written_between_dreams_holds_no_secret(ws: Workspace, tmp_path: Path) -> None:
    _sessions(ws, 3)
    ws.config_path.write_text('redaction:\n  patterns: ["ACME-[0-9]{8}"]\n')
    dream(ws)
    state = "\n".join(p.read_text() for p in Path(ws.state_dir).rglob("*.json"))
    assert "aggregates" in " ".join(str(p) for p in Path(ws.state_dir).rglob("*.json"))
    assert "ACME-2" not in state
