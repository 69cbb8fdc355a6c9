"""What `schedule install --with systemd` drops of the installed service and timer when it rewrites them: the user's
hand edits (another `OnCalendar`, an added or removed line, a word of `ExecStart`, another value of a variable), in
words, for the one warning install says before it writes (read only; the cron side is `schedule_drift.install_drops`).

What an earlier dreamcli did not write yet (`--timestamps`, the umask) is no edit; neither is whitespace, a blank
line, nor the time of the timer when `--at` asks for one. A line is named by its key and only the words of its value
that cannot be a secret (`ExecStartPre=/usr/bin/curl -H … …`, `Environment=NAME=…`, `Nice=10`).

    drops = unit_drops(plan, installed_units(plan), time_given=at is not None)
"""

from __future__ import annotations

import re
import shlex

from dreamcli.workspace.schedule import Plan, continued, systemd_dir
from dreamcli.workspace.schedule_drift import NEWER, calendar_at, command_drops, command_words, diff_drops
from dreamcli.workspace.schedule_words import shown_words

_ENVIRONMENT = "Environment="
# a unit line: a `#`/`;` that comments it out, then `Key=value` (blanks around `=` allowed) or `[Section]`
_KEYED = re.compile(r"^([#;\s]*)(?:([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)|(\[[A-Za-z][\w-]*\]))$")
_EXEC_PREFIX = "-+!@:|"  # what may start an Exec line's value: `-` (its failure ignored), `+` (full privileges), …
# a key the warning shows: systemd's are a capital then letters (`ExecStartPre`, `UMask`); not one right before `=`
# and nothing, a blank or another `=` (`c2VjcmV0= https://…`, `QUJD==`: a secret and its base64 padding)
_KEY = re.compile(r"[A-Z][A-Za-z]{0,39}")
_PADDED = re.compile(r"[^=\s]=(?:[=\s]|$)")
# systemd's own keys a user adds to such a unit: shown even before a blank or nothing (`Nice= 10`, a reset
# `Environment=`), which no secret's padding is
SYSTEMD_KEYS = frozenset({
    "Description", "Documentation", "After", "Before", "Wants", "Requires", "BindsTo", "PartOf", "Conflicts",
    "ConditionPathExists", "ConditionACPower", "Type", "ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop",
    "ExecStopPost", "ExecReload", "ExecCondition", "Environment", "EnvironmentFile", "PassEnvironment",
    "UnsetEnvironment", "WorkingDirectory", "User", "Group", "UMask", "Nice", "IOSchedulingClass",
    "IOSchedulingPriority", "CPUSchedulingPolicy", "CPUQuota", "MemoryMax", "MemoryHigh", "TimeoutStartSec",
    "TimeoutStopSec", "TimeoutSec", "RuntimeMaxSec", "Restart", "RestartSec", "KillMode", "KillSignal",
    "StandardInput", "StandardOutput", "StandardError", "SyslogIdentifier", "LoadCredential", "SetCredential",
    "PrivateTmp", "ProtectSystem", "ProtectHome", "NoNewPrivileges", "ReadWritePaths", "ReadOnlyPaths",
    "RuntimeDirectory", "StateDirectory", "LogsDirectory", "Slice", "OnCalendar", "OnBootSec", "OnStartupSec",
    "OnUnitActiveSec", "OnUnitInactiveSec", "Persistent", "RandomizedDelaySec", "AccuracySec", "WakeSystem", "Unit",
    "WantedBy", "RequiredBy", "Alias",
})


def installed_units(plan: Plan) -> dict[str, str]:
    """The workspace's unit files as installed (file name -> text); a file absent or unreadable is left out."""
    found: dict[str, str] = {}
    for name in plan.systemd_units():
        try:
            found[name] = (systemd_dir() / name).read_bytes().decode("utf-8", "surrogateescape")
        except OSError:
            continue
    return found


def unit_drops(plan: Plan, installed: dict[str, str], *, time_given: bool = False) -> list[str]:
    """What install drops of `installed` (`installed_units`) when it writes `plan.systemd_units()` in their place, in
    words: the timer's time (unless `time_given`) or a schedule that is not one daily time, each word of the
    service's `ExecStart` that differs, each other line added, removed or changed. [] for units install wrote."""
    drops: list[str] = []
    for name, want in plan.systemd_units().items():
        have = installed.get(name)
        if have is None:
            continue
        kind, have = "timer" if name.endswith(".timer") else "service", continued(have)
        for piece in (p for pieces, _ in NEWER for p in pieces):  # an earlier dreamcli's unit lacks it: no edit
            if piece not in have:
                want = "\n".join(line for line in want.split("\n") if line.strip() != piece)
        old, new = _lines(have), _lines(want)
        if kind == "timer" and (calendars := _values(old, "OnCalendar=")):
            drops += _calendar_drops(calendars, plan, time_given)
            old, new = _without(old, "OnCalendar="), _without(new, "OnCalendar=")
        if kind == "service" and _values(old, "ExecStart="):
            drops += [f"in the service's ExecStart: {d}" for d in
                      command_drops(_joined(command_words(have, "systemd")), _joined(command_words(want, "systemd")))]
            old, new = _without(old, "ExecStart=", first=True), _without(new, "ExecStart=", first=True)
        drops += [f"in the {kind}: {d}" for d in _line_drops(old, new)]
    return drops


def _joined(words: list[str]) -> str:
    """Shell words as one command again, a word with a blank, a quote or `#` quoted, so that the diff reads a quoted
    value as the one word it is (the rest as written: `umask 077;`)."""
    return " ".join(shlex.quote(w) if any(c.isspace() or c in "'\"#" for c in w) else w for w in words)


def _lines(text: str) -> list[str]:
    """The lines of a unit file, whitespace aside, blank lines left out."""
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


def _values(lines: list[str], key: str) -> list[str]:
    return [line[len(key):] for line in lines if line.startswith(key)]


def _without(lines: list[str], key: str, *, first: bool = False) -> list[str]:
    """`lines` without the lines setting `key` (only the first one with `first`)."""
    at = [i for i, line in enumerate(lines) if line.startswith(key)]
    gone = set(at[:1] if first else at)
    return [line for i, line in enumerate(lines) if i not in gone]


def _calendar_drops(calendars: list[str], plan: Plan, time_given: bool) -> list[str]:
    at = calendar_at(calendars[0]) if len(calendars) == 1 else None
    if at is None:
        return [f"the timer's schedule `{'; '.join(calendars)}` (install writes a daily one)"]
    if time_given or at == f"{plan.hour:02d}:{plan.minute:02d}":
        return []
    return [f"the timer's time {at} (`--at {at}` keeps it)"]


def _line_drops(have: list[str], want: list[str]) -> list[str]:
    """Each line of `have` added, removed or changed against `want`, as `_shown_line` shows it; two lines that show
    the same (the same key, values hidden alike) are one line with another value (of an `Environment=` variable)."""
    return diff_drops(have, want, _shown_line, lambda lines: "; ".join(map(_shown_line, lines)), _name)


def _shown_line(line: str) -> str:
    """A unit line as the warning shows it: a `#` or `;` that comments it out, its key (a name: `ExecStartPre=`) or
    section (`[Service]`), then its value's words through `schedule_drift`'s rule of what cannot be a secret (an
    option, a short number, a plain path, a program; a variable by its name), an `Exec` line's prefix (`-`, `+`)
    kept. A line of no key is all words (`…`), a comment `# …`; one whose key is none of systemd's (`_KEY`:
    `hunter2=x`, `Token=`, a padded base64 secret `c2VjcmV0= …`; SYSTEMD_KEYS always are) is `…` after its `#`."""
    m = _KEYED.match(line)
    if m is None:  # a comment of the user's words, by its `#`
        return f"{line.lstrip()[0]} …" if line.lstrip().startswith(("#", ";")) else shown_words(line)
    lead, key, value, section = m.groups()
    if section is not None:
        return lead + section
    if key not in SYSTEMD_KEYS and (not _KEY.fullmatch(key) or _PADDED.match(line, len(lead) + len(key) - 1)):
        return f"{lead}…"
    rest = value.lstrip(_EXEC_PREFIX) if key.startswith("Exec") else value
    return f"{lead}{key}={value[:len(value) - len(rest)]}{shown_words(rest)}"


def _name(shown: str) -> str:
    """What a line that shows the same as another but differs has another value of: its key, or for an
    `Environment=` line the variables it sets (`PATH`)."""
    m = _KEYED.match(shown)
    if m is None or m.group(2) is None:
        return f"`{shown}`"
    if m.group(1) + m.group(2) == _ENVIRONMENT[:-1]:
        return " ".join(word.removesuffix("=…") for word in m.group(3).split())
    return m.group(1) + m.group(2)
