"""The one warning `schedule install` gives of what it drops of a hand-edited crontab line or systemd unit never
shows a secret that only looked like a safe word (review of a271b04): a base64 secret ending in `=` padding showed
almost whole as a variable `c2Vj…=`, a unit line continued with `\\` showed its next piece as a key of its own
(`token=…`), and a password given as a number (`-p 834920`) or a secret in a path (`/run/secrets/sk-live-123`)
showed as written. A variable of the environment still shows its name, a short number, a program and a plain path
still read."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dreamcli.workspace import schedule as sch
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.schedule_drift import install_drops
from dreamcli.workspace.schedule_units import unit_drops
from dreamcli.workspace.schedule_words import shown_words

UNITS_DROP = "warning: the installed systemd units differ from what `schedule install` writes: it rewrites them and "
LINE_DROPS = ("warning: the installed crontab line differs from what `schedule install` writes: it rewrites the whole "
              "line ")
SECRETS = ("c2stbGl2", "ZTEyMzQ1", "dXNlcjpo", "834920", "sk-live", "hunter2", "oken")
PADDED = "c2stbGl2ZTEyMzQ1Njc4OTA="  # base64 of a key, `=` padding and all


def _cli(ws: Workspace, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("dreamcli", path=env["PATH"]) or "dreamcli"
    return subprocess.run([exe, "--home", str(ws.root), "schedule", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def _warning(r: subprocess.CompletedProcess[str], start: str) -> str:
    assert r.returncode == 0, r.stderr
    (warning,) = [line for line in r.stderr.splitlines() if line.startswith(start)]
    return warning


def test_the_units_warning_shows_no_padded_key_number_path_or_continued_piece(ws: Workspace,
                                                                                systemd_env: dict[str, str]) -> None:
    install = ("install", "--with", "systemd")
    assert _cli(ws, systemd_env, *install).returncode == 0
    (service,) = (Path(systemd_env["XDG_CONFIG_HOME"]) / "systemd" / "user").glob("*.service")
    written = service.read_text()
    added = (f"ExecStartPre=/usr/bin/curl -u admin:x --oauth2-bearer {PADDED} https://h\n"
             "ExecStartPre=/usr/bin/mysql -u root -p 834920\n"
             "ExecStartPre=/usr/bin/tool --pin 1234 /run/secrets/sk-live-123\n"
             "ExecStartPre=/usr/bin/curl -H \"Authorization: Basic \\\n"
             "Token=dXNlcjpodW50ZXIy\" https://x.example\n"
             "Nice=10\n")
    service.write_text(written.replace("UMask=0077\n", "UMask=0077\n" + added))
    r = _cli(ws, systemd_env, *install)
    assert _warning(r, UNITS_DROP) == UNITS_DROP + (
        "drops: in the service: added `ExecStartPre=/usr/bin/curl -u … … … …; ExecStartPre=/usr/bin/mysql -u … -p …; "
        "ExecStartPre=/usr/bin/tool --pin … /run/secrets/…; ExecStartPre=/usr/bin/curl -H … …; Nice=10`")
    assert not any(s in r.stderr for s in SECRETS), r.stderr
    assert service.read_text() == written  # rewritten all the same


def test_the_crontab_warning_shows_no_padded_key_number_or_secret_path(ws: Workspace,
                                                                        cron_env: dict[str, str]) -> None:
    assert _cli(ws, cron_env, "install").returncode == 0
    table = Path(cron_env["FAKE_CRONTAB_FILE"])
    edit = f"umask 077; /usr/bin/notify --key {PADDED} -p 834920 /run/secrets/sk-live-123; "
    table.write_text(table.read_text().replace("umask 077; ", edit, 1))
    r = _cli(ws, cron_env, "install")
    assert _warning(r, LINE_DROPS) == LINE_DROPS + "and drops: added `/usr/bin/notify --key … -p … /run/secrets/…;`"
    assert not any(s in r.stderr for s in SECRETS), r.stderr


@pytest.mark.parametrize(("words", "said"), [
    (PADDED, "…"),  # base64 with `=` padding: no variable `c2stbGl2…`
    ("Zm9vYmFy==", "…"),
    (PADDED.rstrip("="), "…"),  # without its padding
    ("sk_live_abcdEFGH1234=", "…"),
    ("dXNlcjpodW50ZXIy=x", "…"),  # a value, but a name of mixed case
    ("JBSWY3DPEHPK3PXP=", "…"),  # base32 (one case), padded: `=` and nothing after it is no assignment
    ("JBSWY3DPEHPK3PXP===", "…"),
    ("TOKEN=", "…"),  # the same shape
    ("A" * 41 + "=1", "…"),  # no name that long
    ("PATH=/opt/bin:/usr/bin", "PATH=…"),
    ("http_proxy=http://u:pw@proxy:3128", "http_proxy=…"),
    ("ANTHROPIC_API_KEY=sk-ant-api03-abcdEF== _X=1", "ANTHROPIC_API_KEY=… _X=…"),
    ("token=hunter2=", "token=…"),
    ("nice -n 10 --wait 3600 -u 0", "nice -n 10 --wait 3600 -u 0"),  # a short number reads
    ("-p 834920 --port 12345", "-p … --port …"),  # a long one does not
    ("-p 1234 -P 22 --pin 1234 --password 1 --api-key 42 --wait 7", "-p … -P … --pin … --password … --api-key … "
                                                                      "--wait 7"),
    ("/usr/bin/curl /usr/local/bin/dreamcli --home /srv/ws /w/.local/site-packages", "/usr/bin/curl "
     "/usr/local/bin/dreamcli --home /srv/ws /w/.local/site-packages"),
    ("/run/secrets/sk-live-123 /run/secrets/hunter2 /run/secrets/ZmFrZQ", "/run/secrets/… /run/secrets/… "
                                                                            "/run/secrets/…"),
    ("/home/ana/.venvs/py311/bin/dreamcli /opt/" + "a" * 33, "/home/ana/.venvs/…/bin/dreamcli /opt/…"),
    ("/etc/x/; /etc/../x", "/etc/x/; /etc/../x"),
])
def test_only_words_that_cannot_be_a_secret_are_shown(words: str, said: str) -> None:
    assert shown_words(words) == said


def test_a_path_ends_in_a_program_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tool2").write_text("#!/bin/sh\n")
    (tmp_path / "tool2").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shown_words("/opt/x/tool2 /opt/x/tool3") == "/opt/x/tool2 /opt/x/…"


def _plan() -> sch.Plan:
    return sch.Plan(workspace=Path("/w"), python=Path("/p/python"), dreamcli=Path("/new/bin/dreamcli"),
                    log=Path("/w/l"), lock=Path("/l"), minute=30, hour=2)


def test_the_crontab_line_follows_the_same_rule() -> None:
    plan = _plan()
    assert install_drops(plan, plan.cron_line.replace("PATH=", f"{PADDED} http_proxy=x PATH=", 1)) == [
        "added `… http_proxy=…`"]
    # a quote left open: each value taken out up to the end, the name kept; a padded word is no name
    said = " ".join(install_drops(plan, plan.cron_line.replace("PATH=", 'TOKEN="open Zm9vYmFy== ', 1)))
    assert "`TOKEN=…`" in said and "Zm9v" not in said, said
    said = " ".join(install_drops(plan, plan.cron_line.replace("PATH=", '"x Zm9vYmFy== abcd1234== ', 1)))
    assert "Zm9v" not in said and "abcd" not in said, said


@pytest.mark.parametrize("before", ["curl -s https://h/x#a &&", "echo '#nightly' >> /tmp/x;", 'echo "# a" |',
                                    "echo \\#x;", "echo a\\ #x;", "echo ${u:-a #b};", "echo `echo q #r`;"])
def test_a_hash_inside_a_word_or_quoted_is_no_comment(before: str) -> None:
    """The shell starts a comment only at a word that begins with an unquoted `#`: what follows `x#a`, `'#x'` or
    `\\#x` is still the command's, and dropped by install, so named."""
    plan = _plan()
    line = plan.cron_line.replace("PATH=", f"{before} /usr/local/bin/prune --all; PATH=", 1)
    said = " ".join(install_drops(plan, line))
    assert "/usr/local/bin/prune --all" in said and "instead of" not in said, said


@pytest.mark.parametrize(("command", "left"), [
    ("a b #c d", "a b "), ("a;#c", "a;"), ("a \"b\\\"#\" c # d", "a \"b\\\"#\" c "), ("#all", ""),
    ("x#a 'y #z' \\#w", "x#a 'y #z' \\#w"),
    ("a\\ #x y", "a\\ #x y"), ("a\\;#x y", "a\\;#x y"),  # an escaped blank or `;` begins no word
    ("echo ${u:-a #b} #c", "echo ${u:-a #b} "), ("echo `echo q #r` s # t", "echo `echo q #r` s "),
    ("$# ${#x} A=#x #c", "$# ${#x} A=#x "),
])
def test_a_comment_begins_at_an_unquoted_hash_that_begins_a_word(command: str, left: str) -> None:
    from dreamcli.workspace.schedule import uncommented

    assert uncommented(command) == left


@pytest.mark.parametrize(("added", "said"), [
    (f"{PADDED} https://h", "…"),  # a key, to the eye: base64 and its padding
    ("Zm9vYmFy==", "…"),
    ("QWxhZGRpbjpvcGVu=", "…"),
    ("hunter2abc=x", "…"),  # no key of systemd: those start with a capital, letters only
    ("Token=", "…"),  # an empty value: cannot be told from padding
    ("#Token=", "#…"),
    (f"ExecStartPre=/usr/local/bin/notify --key {PADDED}", "ExecStartPre=/usr/local/bin/notify --key …"),
    (f"Environment={PADDED} PATH=/x", "Environment=… PATH=…"),
    ("ExecStartPre=/usr/bin/mysql -u root -p 834920", "ExecStartPre=/usr/bin/mysql -u … -p …"),
    ("ExecStartPre=/usr/bin/tool /run/secrets/sk-live-123", "ExecStartPre=/usr/bin/tool /run/secrets/…"),
    ("RandomizedDelaySec=600", "RandomizedDelaySec=600"),
    ("Nice= 10", "Nice=10"),  # systemd's own keys read even before a blank, or with nothing (a reset)
    ("ExecStartPre= /usr/bin/curl -s", "ExecStartPre=/usr/bin/curl -s"),
    ("Environment=", "Environment="),
    ("# run after the backup, ask ops", "# …"),  # the user's note: a comment, its words not shown
    ("; disabled for now", "; …"),
])
def test_a_unit_line_shows_a_key_only_when_it_is_one(added: str, said: str) -> None:
    plan = _plan()
    units = {k: v.replace("UMask=0077\n", f"UMask=0077\n{added}\n") for k, v in plan.systemd_units().items()}
    assert unit_drops(plan, units) == [f"in the service: added `{said}`"]


@pytest.mark.parametrize(("added", "said"), [
    ("ExecStartPre=/usr/bin/curl -H \"X: \\\n  token=dXNlcjpodW50ZXIy\" https://x",
     "ExecStartPre=/usr/bin/curl -H … …"),
    ("Environment=A=1 \\\n  Token=hunter2", "Environment=A=… …"),  # one line, as systemd reads it
    ("Environment=A=1 \\\n#x9\n  Token=hunter2", "# …; Environment=A=… …"),  # a comment: a line of its own
    ("Environment=A=1 \\\r\n  Token=hunter2", "Environment=A=… …"),
    ("ExecStartPre=/bin/echo \\\\\nNice=10", "ExecStartPre=/bin/echo …; Nice=10"),  # `\\`: no continuation
    ("Environment=A=1 \\\n\nNice=10", "Environment=A=…; Nice=10"),  # a blank line ends it
])
def test_a_continued_unit_line_is_one_line(added: str, said: str) -> None:
    plan = _plan()
    units = {k: v.replace("UMask=0077\n", f"UMask=0077\n{added}\n") for k, v in plan.systemd_units().items()}
    assert unit_drops(plan, units) == [f"in the service: added `{said}`"]


def test_a_continued_exec_start_is_read_whole() -> None:
    plan = _plan()
    units = {k: v.replace("--home /w dream", "--home /w \\\n  dream") for k, v in plan.systemd_units().items()}
    assert unit_drops(plan, units) == []
    last = {k: v + "Environment=A=1 \\" if k.endswith(".service") else v for k, v in units.items()}
    assert unit_drops(plan, last) == ["in the service: added `Environment=A=…`"]  # continued past the last line
