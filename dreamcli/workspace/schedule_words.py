"""The words of a scheduled command as `schedule install`'s warning shows them (dreamcli.workspace.schedule_drift):
only what cannot be a secret (a variable's name, an option's, a short number, a program, a plain path), any
other word as `…`, since a user's crontab line or unit may hold a password, a header or a token URL."""

from __future__ import annotations

import re
import shlex
import shutil

from dreamcli.workspace.schedule import uncommented

_ASSIGNED = re.compile(r"(?<![^\s;&|(])([A-Za-z_][A-Za-z0-9_]*=)((?:\"[^\"]*\"?|'[^']*'?|[^\s;&|)\"']+)*)")
# what the drops warning shows of a user's words (`shown`): the rest may be a value, so a secret
_OPTION = re.compile(r"-[A-Za-z]|--[a-z][a-z-]*")  # `-n`, `--quiet`: not `-phunter2` (mysql's joined password)
_OPTION_WITH_VALUE = re.compile(r"(--[a-z][a-z-]*=)")
_SECRET_OPTION = re.compile(r"-[pP]|--[\w-]*(?:pass|pin|token|secret|key|auth|cred)[\w-]*")  # takes a password
_NUMBER = re.compile(r"[0-9]{1,4}")  # `nice -n 10`, `--wait 3600`: not a PIN or password of more digits
_PATH = re.compile(r"/[\w./+-]*")
_WORD = r"(?=[A-Za-z])[a-z]*(?:[A-Z][a-z]+)*"  # `bin`, `Library`, `LaunchAgents`: no digit, no run of capitals
_PLAIN = re.compile(rf"\.{{0,2}}|\.?{_WORD}(?:[._+-]{_WORD})*")  # a component of a path shown: `.local`, `lib-x.d`
_NAME = re.compile(r"[A-Za-z_][\w.+-]*")
_SHELL_WORDS = frozenset({"export", "env", "cd", "umask", "exec", "nice", "ionice", "timeout", "flock", "&&", "||",
                          "|", ";", "2>&1", ">>", ">", "<", "1>&2"})
# a word that assigns a variable: a name of one case up to 40 characters, `=`, a value that is not `=` alone
_VARIABLE = re.compile(r"^(?:[A-Z_][A-Z0-9_]{0,39}|[a-z_][a-z0-9_]{0,39})=(?!=*$)")


def shown_words(text: str) -> str:
    """A unit file's value (an `ExecStartPre=` command, a `User=`) as the drops warning shows it: its words, a `#`
    one too (no comment there), through the rule of `shown`, so a secret in it is never printed."""
    return shown(words(text, comments=False))


def words(command: str, *, comments: bool = True) -> list[str]:
    """The shell words of `command`, quotes undone, so a quoted value (`TOKEN="a b"`) is one word and hidden whole;
    when it cannot be read (a quote left open), split on blanks, each variable's value (not `=` alone: padding) `…`
    up to its closing quote or the end. `comments`: from a `#` that begins a word on, a comment (`uncommented`)."""
    command = uncommented(command) if comments else command
    try:
        return shlex.split(command)
    except ValueError:
        return _ASSIGNED.sub(lambda m: m[1] + ("…" if m[2].strip("=") else m[2]), command).split()


def word_key(word: str) -> str:
    """A word as the diff compares it: a variable's assignment by its name only (`NAME=`)."""
    m = _VARIABLE.match(word)
    return m.group() if m else word


def shown(words: list[str]) -> str:
    """Words as a warning shows them: only what cannot be a secret; any other word, a value the user wrote, as `…`
    (a password after `-p`, a header, a URL with a token: no list of secret shapes covers them all). Shown are a
    variable by its name (`_VARIABLE`: `PATH=…`, `http_proxy=…`; never `c2VjcmV0=`, a base64 secret's padding), an
    option by its name (`-n`, `--password=…`), a number of at most 4 digits not right after an option that takes a
    password (`nice -n 10`, `--wait 3600`; `-p …`, `--pin …`: in the same run of words, as install writes no such
    option), a program on PATH or a shell word (`nice`), an absolute path with each component that is no plain
    name (`_PLAIN`, at most 32 characters) as `…` unless it ends it and is a program (`/srv/ws`, `/usr/bin/python3`,
    `/run/secrets/…`)."""
    return " ".join(_shown_word(word, before) for word, before in zip(words, ["", *words], strict=False))


def _shown_word(word: str, before: str) -> str:
    if _VARIABLE.match(word):
        return f"{word_key(word)}…"
    if m := _OPTION_WITH_VALUE.match(word):
        return f"{m.group(1)}…"
    bare = word.rstrip(";&|")
    if bare in _SHELL_WORDS or _OPTION.fullmatch(bare):
        return word
    if _NUMBER.fullmatch(bare):
        return "…" if _SECRET_OPTION.fullmatch(before) else word
    if _PATH.fullmatch(bare):
        return _shown_path(bare) + word[len(bare):]
    return word if _program(bare) else "…"


def _shown_path(path: str) -> str:
    *parents, last = path.split("/")
    shown = [part if len(part) <= 32 and _PLAIN.fullmatch(part) else "…" for part in parents]
    return "/".join([*shown, last if _program(last) or (len(last) <= 32 and _PLAIN.fullmatch(last)) else "…"])


def _program(word: str) -> bool:
    """Whether `word` is the name of a program on PATH (`curl`, `python3`)."""
    return bool(_NAME.fullmatch(word) and shutil.which(word))
