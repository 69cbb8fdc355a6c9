"""A host is not a file (acceptance finding: `pg_isready -h db.internal` shown as `pg_isready -h FILE.internal`):
the command an entry recommends keeps the host as written (after `user@`, after `://`, as the value of a host
option, in `host:port`, or a name ending in a label such as `.org` that names a host), so the command stays one
that can be run; the documents the error was about still become FILE.ext. In an error's template (what groups
errors) a host is `<host>`, so the same error on two hosts is one pattern (review-dream defect 3), and a label
that is also a file's suffix (`.local`, `.com`, `.io`) makes a host only in a host's context (defect 4)."""

from __future__ import annotations

import pytest

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.text import error_template, generic_display, mask, targets
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession, dream, entry_texts

pytestmark = pytest.mark.usefixtures("no_model")


def _generic(command: str, failed: str | None = None) -> str:
    return generic_display(command, targets("bash", {"command": failed or command}))


@pytest.mark.parametrize("command", [
    "pg_isready -h db.internal -p 6432",
    "ssh deploy@build.example.org uptime",
    "ssh -i ~/.ssh/deploy_ed25519 deploy@build.example.org uptime",
    "psql postgres://u@db.internal/x -c 'select 1'",
    "curl -sS https://api.internal.example/health",
    "curl -sS https://api.example.com",
    "mysql --host db.prod -u root",
    "mysql --host=db.prod -u root",
    "redis-cli -h cache.prod -p 6380 ping",
    "nc -zv db.prod:5432",
    "ping -c 1 printer.local",
    "ssh buildbox.prod uptime",
    "git clone git@github.com:acme/tools",
    "ping -c 1 printer.local",
    "nslookup vendor.io",
    "curl -sS http://backup.home:8080/status",
    "ssh deploy@build.sh uptime",  # `.sh` is a file's extension too: after `user@` it is a host
])
def test_a_host_stays_in_the_command(command: str) -> None:
    assert _generic(command) == command


@pytest.mark.parametrize(("command", "shown"), [
    ("scp report.pdf deploy@build.example.org:/srv/", "scp FILE.pdf deploy@build.example.org:/srv/"),
    ("curl -sS https://api.example.com/v1/export.json -o export.json",
     "curl -sS https://api.example.com/v1/FILE.json -o FILE.json"),
    ("du -h backup.tar.gz", "du -h FILE.tar.gz"),  # `-h` of du takes no host: a file's extension decides
    ("curl -F doc=@contract.docx https://api.example.com/upload", "curl -F doc=@FILE.docx https://api.example.com/upload"),
    ("ssh -i deploy.pem deploy@build.example.org 'tail /var/log/app.log'",
     "ssh -i FILE.pem deploy@build.example.org 'tail /var/log/FILE.log'"),
    ("bash run.sh", "bash run.sh"),
])
def test_the_documents_beside_a_host_still_become_generic(command: str, shown: str) -> None:
    assert _generic(command) == shown


@pytest.mark.parametrize(("message", "template"), [
    ("deploy@build.example.org: Permission denied (publickey).", "deploy@<host>: Permission denied (publickey)."),
    ("db.local:5432 - no response", "<host>:<n> - no response"),
    ("Could not resolve host: registry.npmjs.org", "Could not resolve host: <host>"),
    ("curl: (6) Could not resolve host: api.example.com", "curl: (<n>) Could not resolve host: <host>"),
    ("could not translate host name db.prod to address", "could not translate host name <host> to address"),
    ("ssh: Could not resolve hostname db7.prod.internal: Name or service not known",
     "ssh: Could not resolve hostname <host>: Name or service not known"),
    ("ssh: connect to host build.example.org port 22: Connection refused",
     "ssh: connect to host <host> port <n>: Connection refused"),
    ("fatal: unable to access https://github.com/acme/tools/: SSL",
     "fatal: unable to access https://<host>/<path>: SSL"),
    ("GET https://api.example.com/v1/users.json failed: 404", "GET https://<host>/<file.json> failed: <n>"),
    ("ERROR: no matching distribution https://pypi.org/simple/foo/", "ERROR: no matching distribution "
     "https://<host>/<path>"),
    ("upload to https://bucket-7f3a9c.s3.amazonaws.com failed", "upload to https://<host> failed"),
    ("error: could not notify alice.smith@acme-corp.com: mailbox unavailable",
     "error: could not notify alice.smith@<host>: mailbox unavailable"),
    ("fatal: unable to access https://alice:[REDACTED:url_password]@git.corp.internal/team/repo.git/: 403",
     "fatal: unable to access https://alice:[REDACTED:url_password]@<host>/<file.git>/: <n>"),
    ("fatal: unable to access https://alice:tok3n@api.example.com: 403",
     "fatal: unable to access https://alice:tok3n@<host>: <n>"),
])
def test_a_host_in_the_message_is_masked_as_a_host(message: str, template: str) -> None:
    assert mask(message) == template


@pytest.mark.parametrize(("one", "other"), [
    ("curl: (6) Could not resolve host: pr-1841.preview.example.com",
     "curl: (6) Could not resolve host: pr-1907.preview.example.com"),
    ("Permission denied (publickey) for deploy@ci-runner-17.build.example.org",
     "Permission denied (publickey) for deploy@ci-runner-18.build.example.org"),
    ("error: could not notify alice@acme-corp.com: mailbox unavailable",
     "error: could not notify alice@globex.io: mailbox unavailable"),
    ("upload to https://bucket-7f3a9c.s3.amazonaws.com failed",
     "upload to https://bucket-8e2b1d.s3.amazonaws.com failed"),
])
def test_the_same_error_on_two_hosts_has_one_template(one: str, other: str) -> None:
    agg = Aggregates()
    assert error_template(one, frozenset(), agg.redact) == error_template(other, frozenset(), agg.redact)


@pytest.mark.parametrize(("message", "template"), [
    ("cp: cannot stat config.local: No such file or directory",
     "cp: cannot stat <file.local>: No such file or directory"),
    ("backup.home: no space left", "<file.home>: no space left"),
    ("failed to load vendor.io", "failed to load <file.io>"),
    ("unzip: cannot find archive payload.co", "unzip: cannot find archive <file.co>"),
    ("COMMAND.COM not found", "<file.com> not found"),
    ("cannot open notes.cloud", "cannot open <file.cloud>"),
    ("error: settings.example not found", "error: settings.example not found"),  # too long a suffix for a file mark
])
def test_a_file_suffix_that_is_also_a_host_label_needs_a_hosts_context(message: str, template: str) -> None:
    assert mask(message) == template


@pytest.mark.parametrize(("message", "template"), [
    ("x.py:12: error: bad", "<file.py>:<n>: error: bad"),  # file:line is not host:port
    ("src/main.c:12:5: error: expected ';'", "<file.c>:<n>: error: expected <q>"),
    ("cannot read app.min.js or ~/.config/tool.yaml or utils.py.",
     "cannot read <file.js> or <file.yaml> or <file.py>."),
    ("curl: (26) Failed to read local data from @report.pdf", "curl: (<n>) Failed to read local data from @<file.pdf>"),
])
def test_files_are_still_masked(message: str, template: str) -> None:
    assert mask(message) == template


def test_a_host_named_in_the_failed_call_stays_in_its_template() -> None:
    failed = targets("bash", {"command": "pg_isready -h db.prod"})
    assert error_template("db.prod:5432 - no response", failed) == "<host>:<n> - no response"


def test_the_entry_names_the_hosts_that_were_used(ws: Workspace) -> None:
    for hour in range(3):
        s = RawSession(ws, hour, task="ops-check", prompt="Check the build server and the db.")
        s.call("bash", {"command": "ssh deploy@build.example.org uptime"},
               "deploy@build.example.org: Permission denied (publickey).", error=True)
        s.call("bash", {"command": "ssh -i ~/.ssh/deploy_ed25519 deploy@build.example.org uptime"}, " 10:00 up 3 days")
        s.call("bash", {"command": "pg_isready -h db.internal"}, "db.internal:5432 - no response", error=True)
        s.call("bash", {"command": "pg_isready -h db.internal -p 6432"}, "db.internal:6432 - accepting connections")
        s.call("bash", {"command": "curl -sS https://api.internal.example/health"},
               "curl: (22) The requested URL returned error: 503", error=True)
        s.call("bash", {"command": "curl -sS --retry 3 https://api.internal.example/health"}, "ok")
        s.say("ok")
        s.end()

    result = dream(ws)
    texts = " ".join(entry_texts(result))

    assert "run `pg_isready -h db.internal -p 6432` instead" in texts, texts
    assert "When `pg_isready -h db.internal` fails" in texts, texts
    assert "deploy@<host>: Permission denied" in texts, texts
    assert "run `ssh -i ~/.ssh/deploy_ed25519 deploy@build.example.org uptime` instead" in texts, texts
    assert "run `curl -sS --retry 3 https://api.internal.example/health` instead" in texts, texts
    assert "FILE" not in texts, texts
    hosts = [f["message"] for op in result["operations"] for f in op.get("lint", [])
             if f.get("rule") == "unknown-host"]
    assert not any("file." in h for h in hosts), hosts


def test_the_same_error_on_preview_hosts_reaches_support(ws: Workspace) -> None:
    for hour, pr in enumerate((1841, 1907, 1932)):
        s = RawSession(ws, hour, task="preview-check", prompt="Check the preview deployment.")
        s.call("bash", {"command": f"curl -sS https://pr-{pr}.preview.example.com/health"},
               f"curl: (6) Could not resolve host: pr-{pr}.preview.example.com", error=True)
        s.call("bash", {"command": f"curl -sS --retry 5 https://pr-{pr}.preview.example.com/health"}, "ok")
        s.say("ok")
        s.end()

    texts = " ".join(entry_texts(dream(ws)))

    assert "Could not resolve host: <host>" in texts, texts
    assert "--retry 5 https://pr-" in texts, texts
