"""Passwords passed as command-line options: `curl -u user:pass`, `mysql -pPASS`, `sshpass -p PASS`.

Short options such as `-u` and `-p` mean something else in most commands (`sort -u`, `git push -u`,
`docker run -u 1000:1000`, `mkdir -p`, `gcc -pthread`), so these rules apply only within the
command's own line (up to a newline, `|`, `;` or `&`), and only for lower-case command names:

- `curl`: the regex starts at the command name and reads the rest of its line for `-u`, up to the
  next `curl` command on it (whose own match reads on from there: each character is read once).
- `-p`: one scan for all password clients; `check_match` looks back from the option for the
  command name (`mysql`, `mysqldump`, `mariadb`, ... or `sshpass`).
"""

from __future__ import annotations

import re

from dreamcli.redaction.rules import Rule, is_placeholder

# `curl -u user:pass`, `-uuser:pass`, `-su user:pass`, `--user user:pass`, `--user=...`, and the
# proxy's `-U`/`--proxy-user`. Only the password is replaced; `-u user` alone (curl prompts) and
# `-u $USER:$PASS` are left alone. No backslash in the value, so JSON-escaped `\"` stays intact;
# no bracket in the user, so a marker's colon (`-u [REDACTED:stripe]:`) is not taken for one.
_USER_OPTION = r"(?:[A-Za-z]*[uU][ \t]+|[uU](?=[^\s\-])|-(?:proxy-)?user(?:[ \t]+|=))"  # after its `-`
# `curl` as a word (case-sensitive: a scan of the text itself, no Python call per curl command
# without credentials), also right after a JSON-escaped `\n`, `\t` or `\r`, and a blank after it
_CURL = r"curl(?:(?<![A-Za-z0-9_\-]curl)|(?<=\\[ntr]curl))(?=[ \t])"
# The rest of the command's line from `-` to `-` (possessive: no backtracking), up to an option that
# follows a blank and takes the user. It also stops at the next `curl` command, where the match then
# fails: that command's own match reads on from there and finds the same option, so a line of n
# commands is read once, not n times to its end (tests/redaction/test_command_line.py).
_ARGUMENTS = r"(?:[^\n|;&\-c]++|(?!" + _CURL + r")c|(?!(?<=[ \t])-" + _USER_OPTION + r")-)*+"
CURL_USER = Rule(
    "basic_auth",
    re.compile(
        _CURL
        + _ARGUMENTS
        + r"(?<=[ \t])-"
        + _USER_OPTION
        + r"(?P<q>(?:\\?[\"'])?)[^\s:\"'\\\[\]]*:(?P<secret>[^\s\"'\\]+)(?P=q)"
    ),
    groups=("secret",),
    validate=lambda v: not is_placeholder(v) and v.lower() not in {"pass", "pw", "pwd"},
)

# MySQL/MariaDB clients take the password glued to `-p` (`-pS3cret`); a lone `-p` prompts and the
# next word is the database. sshpass takes it glued or, right after `sshpass `, as the next word.
# The regex alone turns down `mkdir -p build` and `ssh -p 22`; for `-pthread` or `find -print`
# `check_match` looks back on the line for the command name.
_MYSQL_CMD = re.compile(
    r"(?:^|[\s/])(?:mysql(?:dump|admin|import|show|check|slap|binlog|pump|sh)?"
    r"|mariadb(?:-dump|-admin|-import|-show|-check)?)\s"
)
_SSHPASS_CMD = re.compile(r"(?:^|[\s/])sshpass\s")
_COMMAND_END = re.compile(r"[\n|;&]|\\n")  # or a newline escaped in JSON text
_WINDOW = 400  # how far back from `-p` to look for the command name


def _password_client(m: re.Match[str]) -> bool:
    """Is this `-p` an option of mysql & co or of sshpass?"""
    text, start = m.string, m.start()
    line = text[max(0, text.rfind("\n", max(0, start - _WINDOW), start) + 1, start - _WINDOW) : start]
    if "sql" not in line and "mariadb" not in line and "sshpass" not in line:  # cheap first test
        return False
    command = _COMMAND_END.split(line)[-1]
    return (_MYSQL_CMD.search(command) or _SSHPASS_CMD.search(command)) is not None


def _value(name: str) -> str:
    """An option value in group `name`, maybe quoted (`'...'`, or `\"...\"` in JSON text)."""
    return rf"(?P<{name}_q>(?:\\?[\"'])?)(?P<{name}>[^\s\"'\\\-][^\s\"'\\]*)(?P={name}_q)"


# gcc and find options that start with `-p`, as in `gcc -I/usr/include/mysql -pthread` or
# `find /var/lib/mysql -type f -print`: the mysql path makes them look like a client's `-p`.
_OTHER_OPTIONS = frozenset({"thread", "rint", "rint0", "rintf", "rune", "erm", "ath", "edantic", "ipe", "ie"})

CLI_PASSWORD = Rule(
    "password",
    re.compile(r"-p(?:(?<=\s-p)" + _value("glued") + r"|(?<=sshpass -p)[ \t]+" + _value("spaced") + ")"),
    groups=("glued", "spaced"),
    check_match=_password_client,
    validate=lambda v: len(v) >= 3 and v not in _OTHER_OPTIONS and not is_placeholder(v),
)

COMMAND_LINE_RULES: tuple[Rule, ...] = (CURL_USER, CLI_PASSWORD)
