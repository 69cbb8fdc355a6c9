"""The lint reads the redactor's own output (tester D, defect 1): a URL whose password was redacted
(`https://user:[REDACTED:url_password]@host`) made `urlparse` raise "Invalid IPv6 URL", an internal error in
`dream --offline`, `playbooks diff`, `diff --html`, `approve` and `dreamcli import`. The URL is linted for its
real host, and a URL whose host cannot be read at all is warned about, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.playbooks.lint import lint_entry_text
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession, dream, entry_texts
from tests.portability import support as bundles
from tests.support.playbooks import cli, op, write_dream, write_playbook

REDACTED_URL = "https://deploy:[REDACTED:url_password]@git.example.com/team/repo.git"
TEXT = f"Clone with `git clone {REDACTED_URL}` over ssh instead."
HOST_WARNING = "links to git.example.com, which is not in lint.allowed_hosts"
DREAM = "01JD3Z0000000000000000URL1"


def _messages(text: str) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in lint_entry_text(text)]


def test_a_redacted_url_is_linted_for_its_real_host() -> None:
    assert _messages(TEXT) == [("unknown-host", HOST_WARNING)]


@pytest.mark.parametrize("url", ["https://[oops/x", "https://a:[REDACTED/x", "ftp://[::1/x"])
def test_a_url_whose_host_cannot_be_read_is_warned_about(url: str) -> None:
    assert _messages(f"See {url} and {url}.") == [
        ("unknown-host", "links to a URL whose host cannot be read: check where it points")]


def test_dream_offline_over_a_redacted_clone_url(ws: Workspace, no_model: None) -> None:
    for hour in range(3):
        s = RawSession(ws, hour, task="misc")
        s.call("bash", {"command": f"git clone {REDACTED_URL}"},
               "fatal: Authentication failed for 'https://git.example.com/team/repo.git/'", error=True)
        s.say("I could not clone it.")
        s.end()
    result = dream(ws)  # exit 0, not an internal error
    [text] = entry_texts(result)
    assert "[REDACTED:url_password]" in text
    assert {"severity": "warn", "rule": "unknown-host", "message": HOST_WARNING} in result["operations"][0]["lint"]


def test_diff_html_and_approve_of_an_entry_holding_a_redacted_url(ws: Workspace, tmp_path: Path) -> None:
    write_playbook(ws, "ops", [("pb-aaaaaa01", "Tools", "Use make.")], version=1)
    write_dream(ws, DREAM, "ops", [op("pb-new00001", text=TEXT)], base_version=1)
    r = cli(ws, "playbooks", "diff")
    assert r.exit_code == 0 and "git.example.com" in r.stdout, r.output
    page = tmp_path / "review.html"
    r = cli(ws, "playbooks", "diff", "--html", str(page))
    assert r.exit_code == 0 and HOST_WARNING in page.read_text(), r.output
    r = cli(ws, "playbooks", "approve", DREAM, "--all", "--yes", "--json")
    assert r.exit_code == 0, r.output
    assert TEXT in (ws.playbooks_dir / "ops.md").read_text()


def test_import_of_a_bundle_entry_holding_a_url_password(tmp_path: Path) -> None:
    bundle = bundles.exported(tmp_path, sessions=False)
    meta = "  <!-- dc: helpful=1 harmful=0 first=2026-11-21 last=2026-11-21 -->\n"
    rel = "playbooks/ops.md"
    entry = "- [op-url00001] Fetch from https://a:Xy7Pq2Lm9Zt4@h.example/x when the mirror is down.\n"
    bundles.put(bundle, rel, ((bundle / rel).read_text() + entry + meta).encode())
    dest = bundles.destination(tmp_path)
    r = bundles.cli(dest.root, "import", str(bundle), "--json")
    assert r.exit_code == 0, r.output
    assert "internal error" not in r.stderr
    ops = (dest.playbooks_dir / "ops.md").read_text()
    assert "https://a:[REDACTED:url_password]@h.example/x" in ops and "Xy7Pq2Lm9Zt4" not in ops
    assert json.loads(r.stdout)["playbooks"]
