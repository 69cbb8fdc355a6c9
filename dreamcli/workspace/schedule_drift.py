"""Whether the installed schedule of a workspace lacks what `schedule install` writes now (for `schedule show` and
`doctor`; read only, the crontab is the user's).

A crontab line or systemd service an earlier dreamcli installed keeps running as it was until `schedule install`
runs again. Only pieces install writes now that the installed one misses make it out of date (`--timestamps`, the
umask), or a command that runs another dreamcli executable or another `--home`. Anything else the user changed (an
inline `ANTHROPIC_BASE_URL=…`, `nice -n 10`, whitespace, a weekday range, `@daily`, an `Environment=` line) is
theirs and no reason to refresh; when a refresh is advised anyway, the advice says that `schedule install`
rewrites the line (or service) and drops those edits, and which schedule it cannot keep. `install_drops` names
them, for `schedule install` to say before it rewrites the line, and `copies_dropped` the other marked lines it
drops with it (a commented-out copy: `commented_copies` counts those, for `schedule show`); `installed_schedule` is
the installed time of day and schedule, for `schedule show`. What install drops of a systemd service and timer is
`schedule_units.unit_drops`; every word shown of the user's is shown by `schedule_words.shown`'s rule.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher

from dreamcli.workspace.schedule import Plan, commented, continued, systemd_dir
from dreamcli.workspace.schedule_words import shown, word_key, words

# what `install` writes now that a line or unit of an earlier dreamcli lacks: (its text, what it gives)
NEWER = ((("--timestamps",), "each log line dated"), (("umask 077;", "UMask=0077"), "the log created 0600"))
# a daily `OnCalendar` at one time, as install writes it (`*-*-* 03:00:00`) or shorter (`03:00`, `*-*-* 3:00`)
_DAILY_CALENDAR = re.compile(r"^(?:\*-\*-\*\s+)?(\d{1,2}):(\d\d)(?::00)?$")
_CALENDAR_NICKNAMES = {"daily": "00:00", "midnight": "00:00"}
_EXEC = re.compile(r"^ExecStart=(.*)$", re.M)
_CALENDAR = re.compile(r"^OnCalendar=(.*)$", re.M)
# cron's @-schedules that name a time of day install can write (`--at`); the others it cannot keep
_AT_NICKNAMES = {"@daily": "00:00", "@midnight": "00:00"}


@dataclass(frozen=True)
class Outdated:
    """An installed schedule that lacks what `schedule install` writes now (an earlier dreamcli wrote it)."""

    scheduler: str  # cron or systemd
    lacks: tuple[str, ...]  # what it lacks, in words
    at: str | None  # its time of day (HH:MM), kept by the refresh; None: not a time install writes
    drops: tuple[str, ...] = ()  # what the refresh would not keep: the user's other edits, a schedule it cannot write

    def refresh(self, home: str | None = None) -> str:
        """The command that rewrites it, at the same time (`home`: the --home to name)."""
        words = ["dreamcli", *(["--home", shlex.quote(home)] if home else []), "schedule", "install"]
        words += ["--at", self.at] if self.at else []
        words += ["--with", "systemd"] if self.scheduler == "systemd" else []
        return " ".join(words)

    @property
    def what(self) -> str:
        return "crontab line" if self.scheduler == "cron" else "systemd service"

    def problem(self) -> str:
        return f"the installed {self.what} is out of date ({'; '.join(self.lacks)})"

    def caveat(self) -> str:
        """What the refresh loses, said with it ("" when nothing)."""
        if not self.drops:
            return ""
        return f", but it rewrites the whole {self.what} and drops {' and '.join(self.drops)}"

    def advice(self, home: str | None = None) -> str:
        return f"{self.refresh(home)} refreshes it{self.caveat()}"

    def message(self, home: str | None = None) -> str:
        return f"{self.problem()}; `{self.refresh(home)}` refreshes it{self.caveat()}"

    def to_json(self, home: str | None = None) -> dict[str, object]:
        return {"scheduler": self.scheduler, "lacks": list(self.lacks), "at": self.at, "refresh": self.refresh(home),
                "drops": list(self.drops)}


def _fields(line: str) -> tuple[str, str]:
    """A crontab line as (its schedule, the rest): five time fields, or one `@daily`-like word."""
    parts = line.split(None, 1 if line.lstrip().startswith("@") else 5)
    return (" ".join(parts[:-1]), parts[-1].rstrip()) if len(parts) > 1 else ("", line.rstrip())


def _after_time(line: str) -> str:
    """A crontab line without its time fields (five, or an `@daily`-like one)."""
    return _fields(line)[1]


def cron_at(line: str) -> str | None:
    """The time of day of a daily crontab line (`M H * * *`, `@daily`), as HH:MM; None for any other schedule."""
    schedule = _fields(line)[0]
    if schedule in _AT_NICKNAMES:
        return _AT_NICKNAMES[schedule]
    fields = schedule.split()
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"] or not (fields[0].isdigit() and fields[1].isdigit()):
        return None
    hour, minute = int(fields[1]), int(fields[0])
    return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else None


def command_words(text: str, scheduler: str) -> list[str]:
    """The words of the shell command a line or service runs (quotes and escapes undone); [] when unreadable."""
    if scheduler == "cron":
        script = text.replace("\\%", "%")
    else:
        m = _EXEC.search(continued(text))  # a value continued on the next line (`\\` at the end): whole
        if m is None:
            return []
        value = m.group(1).replace("%%", "%").replace("$$", "$").replace("\\\\", "\\")
        try:
            sh = shlex.split(value)
        except ValueError:
            return []
        script = sh[2] if sh[:2] == ["/bin/sh", "-c"] and len(sh) > 2 else " ".join(sh)
    try:
        return shlex.split(script)
    except ValueError:
        return script.split()


def _unmarked(line: str, plan: Plan) -> str:
    """A crontab line without its trailing marker: the raw path there, unquoted, is no shell word (a `'`, `"` or
    trailing `\\` of it would make the whole line unreadable)."""
    end = line.rstrip()
    for marker in (plan.marker, plan.raw_marker):
        if end.endswith(marker):
            return end[:-len(marker)]
    return end


def disabled(line: str | None) -> bool:
    """Whether the crontab line (`find_line`'s: commented out only when every marked line is) is commented out (the
    user disabled it): it never runs, out of date or not."""
    return line is not None and commented(line)


DISABLED = "the installed crontab line is commented out (disabled): no nightly dream runs from it"


def enable_advice(line: str, home: str | None = None) -> str:
    """What turns a commented-out line on again (the time of day of the line kept, when it has one)."""
    refresh = Outdated("cron", (), cron_at(line.lstrip().lstrip("#"))).refresh(home)
    return f"uncomment it (`crontab -e`), or `{refresh}` writes it anew"


def _runs(words: list[str], wanted: list[str]) -> bool:
    n = len(wanted)
    return any(words[i:i + n] == wanted for i in range(len(words) - n + 1))


def _compare(have: str, want: str, plan: Plan, scheduler: str) -> tuple[tuple[str, ...], str | None]:
    """(what `have` lacks of `want`, in words; the user's edits the refresh drops, in words, or None). Edits are
    what differs otherwise, whitespace aside; with another command, nothing tells them from it."""
    lacks, bare = [], want
    for pieces, gives in NEWER:
        if gone := [p for p in pieces if p in want and p not in have]:
            lacks.append(f"no {gone[0]}: {gives}")
            for piece in gone:
                bare = bare.replace(piece, "")
    words = command_words(_unmarked(have, plan) if scheduler == "cron" else have, scheduler)
    head = plan.argv[:plan.argv.index("--home")]
    differs = "its command differs from what `schedule install` writes now:"
    other = [f"{differs} another dreamcli than {' '.join(head)}"] if not _runs(words, head) else []
    if not _runs(words, ["--home", str(plan.workspace)]):
        other.append(f"{differs} --home is not {plan.workspace}")
    edits = "any edits of yours" if other else "your other edits of it" if have.split() != bare.split() else None
    return (*lacks, *other), edits


def _cron(plan: Plan, line: str) -> Outdated | None:
    lacks, edits = _compare(_after_time(line), _after_time(plan.cron_line), plan, "cron")
    if not lacks:
        return None
    at = cron_at(line)
    drops = ([edits] if edits else []) + (
        [] if at else [f"its schedule `{_fields(line)[0]}` (install writes a daily line: add --at HH:MM)"])
    return Outdated("cron", lacks, at, tuple(drops))


def outdated(plan: Plan, cron_line: str | None) -> list[Outdated]:
    """The installed crontab line (`find_line`'s) and systemd service of this workspace that lack what `schedule
    install` writes now, whatever their time of day: read only, never rewritten here. A commented-out line is
    `disabled`, not out of date."""
    found = [old for old in [_cron(plan, cron_line) if cron_line is not None and not disabled(cron_line) else None]
             if old is not None]
    service = systemd_dir() / f"{plan.unit_name}.service"
    try:
        have = service.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:  # none installed (or out of reach: `show` lists it, doctor says nothing more)
        return found
    lacks, edits = _compare(have, plan.systemd_units()[service.name], plan, "systemd")
    if lacks:
        at = systemd_at(plan)
        drops = ([edits] if edits else []) + (
            [] if at else ["its timer's schedule (install writes a daily one: add --at HH:MM)"])
        found.append(Outdated("systemd", lacks, at, tuple(drops)))
    return found


def calendar_at(value: str) -> str | None:
    """The time of day (HH:MM) of a daily `OnCalendar` value (`*-*-* 03:00:00`, `03:00`, `daily`); None for any
    other calendar (a weekday, seconds, hourly)."""
    value = " ".join(value.split())
    if value in _CALENDAR_NICKNAMES:
        return _CALENDAR_NICKNAMES[value]
    m = _DAILY_CALENDAR.match(value)
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return None
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def systemd_at(plan: Plan) -> str | None:
    """The time of day of the installed timer (HH:MM), None when it has no one daily `OnCalendar`."""
    try:
        values = _CALENDAR.findall(continued((systemd_dir() / f"{plan.unit_name}.timer").read_text(errors="replace")))
    except OSError:
        return None
    return calendar_at(values[0]) if len(values) == 1 else None


def systemd_calendar(plan: Plan) -> str | None:
    """The installed timer's `OnCalendar` value, None when there is no timer (or no such line)."""
    try:
        m = _CALENDAR.search(continued((systemd_dir() / f"{plan.unit_name}.timer").read_text(errors="replace")))
    except OSError:
        return None
    return m.group(1).strip() if m else None


def installed_schedule(plan: Plan, cron_line: str | None) -> tuple[str | None, str | None]:
    """(its time of day as HH:MM, its schedule) of what is installed for the workspace: the crontab line's
    (`find_line`'s, commented out or not), else the systemd timer's `OnCalendar`. The time is None when the schedule
    is not daily at one time; both are None when nothing is installed."""
    if cron_line is None:
        return systemd_at(plan), systemd_calendar(plan)
    line = _enabled(cron_line)
    return cron_at(line), _fields(line)[0] or None


def _enabled(line: str) -> str:
    """A crontab line without the `#` that comments it out."""
    return line.lstrip().lstrip("#") if disabled(line) else line


def install_drops(plan: Plan, line: str | None, *, time_given: bool = False) -> list[str]:
    """What `schedule install` drops of the installed crontab line (`find_line`'s) when it writes `plan.cron_line`
    in its place, in words: the `#` that disabled it, its time of day (unless `time_given`: --at asked for a time),
    a schedule that is not daily, and each run of words of its command that differs (a variable by its name, never
    its value). [] for no line, for a line install wrote at any time (by this dreamcli, or an earlier one: what it
    lacks of the line written now is no edit), and for whitespace."""
    if line is None:
        return []
    drops = ["the `#` that disabled it"] if disabled(line) else []
    line = _enabled(line)
    drops += _schedule_drops(line, plan, time_given)
    return drops + command_drops(_after_time(_unmarked(line, plan)), _after_time(_unmarked(plan.cron_line, plan)))


def copies_dropped(lines: list[str], kept: str | None) -> list[str]:
    """The marked lines of the crontab (`find_lines`'s) besides `kept` (`chosen_line`'s), in words: what `schedule
    install` (which writes one line) and `schedule remove` drop with it. [] for one line or none."""
    others = _others(lines, kept)
    off = sum(1 for line in others if commented(line))
    on = len(others) - off
    said = []
    if off:
        said.append("a commented-out copy of the line" if off == 1 else f"{off} commented-out copies of the line")
    if on:
        said.append("a second active copy of the line (a second job)" if on == 1 else
                    f"{on} more active copies of the line ({on} more jobs)")
    return said


def commented_copies(lines: list[str], kept: str | None) -> int:
    """How many marked lines besides `kept` are commented out: copies that install drops (`schedule show`)."""
    return sum(1 for line in _others(lines, kept) if commented(line))


def _others(lines: list[str], kept: str | None) -> list[str]:
    others = list(lines)
    if kept is not None and kept in others:
        others.remove(kept)
    return others


def _schedule_drops(line: str, plan: Plan, time_given: bool) -> list[str]:
    schedule, at = _fields(line)[0], cron_at(line)
    if at is None:
        return [f"its schedule `{schedule}` (install writes a daily line)"]
    if time_given or at == f"{plan.hour:02d}:{plan.minute:02d}":
        return []
    if schedule.startswith("@"):
        return [f"its schedule `{schedule}` (`--at {at}` keeps its time)"]
    return [f"its time {at} (`--at {at}` keeps it)"]


def command_drops(have: str, want: str) -> list[str]:
    """Each run of words of `have` (the installed command) that differs from `want` (the one install writes), what
    an earlier dreamcli did not write yet aside."""
    for pieces, _ in NEWER:
        for piece in pieces:
            if piece in want and piece not in have:
                want = want.replace(piece, "")
    return diff_drops(words(have), words(want), word_key, shown, lambda key: key[:-1])


def diff_drops(have: list[str], want: list[str], key: Callable[[str], str], shown: Callable[[list[str]], str],
               name: Callable[[str], str]) -> list[str]:
    """What `have` (the installed words or unit lines) holds that `want` (what install writes) does not, in the
    warning's words: each run added, removed or changed, shown by `shown`; items compared by `key`, so that a
    variable's assignment matches by its name, and one whose value alone differs is "another value of" its `name`
    (of the key)."""
    said: list[str] = []
    matcher = SequenceMatcher(None, [key(x) for x in have], [key(x) for x in want], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":  # the same items, or the same variables: their values may differ
            said += [f"another value of {name(key(a))}" for a, b in zip(have[i1:i2], want[j1:j2], strict=True)
                     if a != b]
        elif op == "delete":
            said.append(f"added `{shown(have[i1:i2])}`")
        elif op == "insert":
            said.append(f"removed `{shown(want[j1:j2])}`")
        else:
            said.append(f"`{shown(have[i1:i2])}` instead of `{shown(want[j1:j2])}`")
    return said
