"""Rendering for `dreamcli cloud`: a progress line on stderr (live on a terminal; elsewhere one line
per dream status change), and the results: what was pulled, pushed (conflicts with both sides),
which local proposals a cloud dream left for review, and the cloud dreams recorded here (`cloud dream
list`). Ids, names, statuses, paths, memory contents and messages come from the API (untrusted): every
line is printed as text, its control characters shown as escapes (`dreamcli.ui.console.neutralise_controls`),
so none acts on the terminal or starts a line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dreamcli.ui.console import err, info, live_view, neutralise_controls, note, out, safe_markup, warn
from dreamcli.ui.prose import wrap


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _tokens(usage: dict[str, Any]) -> str:
    return f"{int(usage.get('input_tokens') or 0):,} in / {int(usage.get('output_tokens') or 0):,} out tokens"


def _say(message: Any) -> None:
    """A message on stderr (as `info`), on one line: its values may come from the API."""
    info(neutralise_controls(str(message), one_line=True))


def _print(con: Any, text: str) -> None:
    """One line of data, as text, on one line whatever the API's values hold."""
    con.print(neutralise_controls(text, one_line=True), markup=False, highlight=False)


def _wrapped(con: Any, text: str, hanging: str = "    ", whole: tuple[str | None, ...] = ()) -> None:
    """One line of data as `_print` makes it. On a terminal, wrapped between words to its width, its later
    lines at `hanging`, each of `whole` (a path, an id, a hash) kept on one line, alone on its line when
    longer than the width. Off a terminal (a pipe, a file) one line whatever its length: scripts and CI
    logs read the output line by line."""
    if not con.is_terminal:
        _print(con, text)
        return
    line = neutralise_controls(text, one_line=True)
    spaced = [t for t in (neutralise_controls(t, one_line=True) for t in whole if t) if " " in t]
    # each space of a token becomes a character the line lacks (textwrap breaks only at ASCII whitespace)
    glue = next((chr(c) for c in range(0xE000, 0xF900) if chr(c) not in line), "") if spaced else ""
    for token in spaced if glue else []:
        line = line.replace(token, token.replace(" ", glue))
    for part in wrap(line, con.width, hanging=hanging):
        con.print(part.replace(glue, " ") if glue else part, markup=False, highlight=False, soft_wrap=True)


def _line(item: Any) -> str:
    if isinstance(item, str):
        return item
    part = f" ({item.part}/{item.parts})" if item.parts > 1 else ""
    return f"cloud dream {item.dream_id}{part}: {item.status}, {item.elapsed_s:.0f}s, {_tokens(item.usage)}"


@contextmanager
def progress_line(title: str) -> Iterator[Callable[[Any], None]]:
    """A callback taking a message or a dream poll. On a terminal it redraws one status line; off a
    terminal it prints a line when a dream changes status (never per poll) and notes."""
    if live_view():
        with err().status(title) as status:
            yield lambda item: status.update(safe_markup(_line(item), one_line=True))
        return
    last: dict[str, str] = {}

    def plain(item: Any) -> None:
        if isinstance(item, str):
            if "split across" in item:
                _say(item)
            return
        if last.get(item.dream_id) != item.status:
            last[item.dream_id] = item.status
            _say(_line(item))

    yield plain


MAX_WARNINGS = 20  # skipped sessions named one by one; the rest counted in one line (`--json` lists them)


@contextmanager
def skip_warnings(limit: int = MAX_WARNINGS) -> Iterator[Callable[[str], None]]:
    """A callback taking a warning (a session a pull skips): a `warning:` line on stderr as it comes (`warn`:
    above a live status line, wrapped under its text on a terminal, one plain line on a pipe), the first
    `limit` of them; when the block ends, one more line counting the rest."""
    said: list[str] = []

    def say(message: str) -> None:
        said.append(message)
        if len(said) <= limit:
            warn(message)

    yield say
    if len(said) > limit:
        warn(f"… {len(said) - limit} more (--json lists them)")


def render_sessions_pull(r: Any, prefix: str = "dreamcli") -> None:
    skipped = f", {r.skipped} skipped (warnings above)" if getattr(r, "skipped", 0) else ""
    _print(out(), f"{_plural(r.imported, 'session')} imported from Managed Agents ({_plural(r.events, 'event')}); "
                  f"{r.already} imported before, {r.in_flight} still running (pulled next time){skipped}, "
                  f"{r.listed} listed")
    if r.imported:
        info(f"next: {prefix} dream   (or {prefix} sessions list --since {_since(r.session_ids)})")


def _since(session_ids: list[str]) -> str:
    """`--since` for a listing that shows the sessions just pulled: they keep the time they ran in the cloud
    (an imported id is made from it), often older than a day."""
    from datetime import UTC, datetime

    from dreamcli.ids import ulid_time_ms

    try:
        oldest = min(ulid_time_ms(sid) for sid in session_ids)
    except ValueError:  # none named, or not an id: the pull's own day
        return "1d"
    return datetime.fromtimestamp(oldest / 1000, UTC).strftime("%Y-%m-%d")


def render_memory_pull(r: Any) -> None:
    name = f" ({r.store_name})" if r.store_name else ""
    con = out()
    _print(con, f"memory store {r.store_id}{name} -> {r.mirror}")
    _print(con, f"  {len(r.written)} written, {r.unchanged} unchanged, {len(r.removed)} removed")
    for path in r.written:
        _print(con, f"  + {path}")
    for path in r.removed:
        _print(con, f"  - {path}")
    if r.redacted:
        warn(f"secrets replaced by [REDACTED:...] markers in the local copy of {len(r.redacted)} memories "
             "(the cloud copy is unchanged)")


_MARK = {"create": "+", "update": "~", "delete": "-"}


def render_push(r: Any) -> None:
    con = out()
    verb = "would push" if r.dry_run else "pushed"
    done = [c for c in r.changes if r.dry_run or c.status == "done"]
    skipped = getattr(r, "skipped", [])
    left_out = f"; {_plural(len(skipped), 'approved entry', 'approved entries')} not pushed" if skipped else ""
    before = getattr(r, "pushed_before", 0)
    left_out += (f"; {_plural(before, 'approved dream entry', 'approved dream entries')} pushed before (not sent "
                 "again)") if before else ""
    _wrapped(con, f"{verb} {_plural(len(done), 'change')} to memory store {r.store_id} (playbook {r.playbook}); "
                  f"{_plural(r.unchanged, 'memory', 'memories')} already up to date{left_out}",
             whole=(r.store_id, r.playbook))
    for c in done:
        version = f"  [{c.memory_version_id}]" if c.memory_version_id else ""
        _wrapped(con, f"  {_MARK.get(c.op, '?')} {c.op:<6} {c.path}  ({c.source}){version}", " " * 6,
                 whole=(c.path, c.source, c.memory_version_id))
    for k in r.conflicts:
        _wrapped(con, f"  ! conflict {k.op} {k.path}: {k.reason}", " " * 6, whole=(k.path,))
        _hashes(con, k)
        _side(con, "cloud has", k.cloud_content)
        _side(con, "you push", k.local_content)


def _hashes(con: Any, k: Any) -> None:
    """A conflict's hashes: on a terminal each on a line of its own (at 80 columns, never cut); off one, one
    line as scripts have always read it."""
    pulled, now = k.expected_sha256 or "(never pulled)", k.cloud_sha256 or "?"
    if not con.is_terminal:
        _print(con, f"      last pulled sha256 {pulled}; cloud now {now} (version {k.cloud_version_id or '?'})")
        return
    _wrapped(con, f"      last pulled sha256 {pulled}", " " * 8, whole=(pulled,))
    _wrapped(con, f"      cloud now sha256 {now} (version {k.cloud_version_id or '?'})", " " * 8,
             whole=(now, k.cloud_version_id))


def warn_push_skipped(r: Any) -> None:
    """One warning line on stderr per approved entry the push left out (`--json` too): the memory, the
    entry and vetting's reason, all redacted."""
    for s in r.skipped:
        warn(f"not pushed: {s.path} (approved entry {s.entry_id} of cloud-dream proposal {s.dream_id}): {s.reason}")


def warn_lines(lines: list[str]) -> None:
    """One warning line on stderr each (`--json` too): already redacted, controls escaped by `warn`."""
    for line in lines:
        warn(line)


def _side(con: Any, label: str, text: str | None) -> None:
    _print(con, f"      {label}:" + (" (nothing: delete)" if text is None else ""))
    for ln in (text or "").splitlines()[:12]:
        _wrapped(con, f"        | {ln}", " " * 12)


def render_cloud_dream(r: Any, prefix: str = "dreamcli") -> None:
    con = out()
    if r.note:
        _say(r.note)
    for d in r.dreams:
        c = d["counts"]
        _print(con, f"cloud dream {d['cloud_dream_id']} -> local proposal {d['dream_id']}: {c['create']} added, "
                    f"{c['update']} edited, {c['retire']} removed ({d['sessions']} sessions, {_tokens(d['usage'])}); "
                    f"output store {d['output_store']}")
    for d in r.dreams:
        if d["operations"]:
            _say(f"review: {prefix} playbooks diff {d['dream_id']}")
    if any(d["operations"] for d in r.dreams):
        _say(f"then approve entries and send them: {prefix} cloud memory push {r.playbook} --store {r.store_id}")


def dream_status(row: dict[str, Any]) -> str:
    """A recorded cloud dream's status in words: the API's last one, and `unfinished` while no proposal was
    written for a dream that neither failed nor was canceled."""
    if row.get("finished"):
        return str(row["status"])
    if row.get("cloud_dream_id") is None:
        return "id never came back"
    return f"{row['status']}, unfinished"


def render_cloud_dream_list(rows: list[dict[str, Any]], prefix: str = "dreamcli", *, refreshed: bool = False) -> None:
    """One row a cloud dream (id, created, status); the store and the proposal under it where the terminal
    is too narrow for them (80 columns, with the API's ids); then a line for each dream with a note (why it
    ended as it did)."""
    if not rows:
        note(f"no cloud dreams recorded in this workspace ({prefix} cloud dream --store STORE_ID starts one)")
        return
    from dreamcli.ui.tables import Col, print_table

    cols = [Col("cloud dream", kind="id"), Col("created", kind="id"), Col("status", kind="id"), Col("store"),
            Col("proposal")]
    print_table(cols, [[safe_markup(r["cloud_dream_id"] or "-", one_line=True),
                        safe_markup(str(r["created"])[:16].replace("T", " ") or "-", one_line=True),
                        safe_markup(dream_status(r), one_line=True), safe_markup(r["store_id"], one_line=True),
                        safe_markup(r["proposal"] or "-", one_line=True)] for r in rows])
    con = out()
    for r in rows:
        if r.get("note"):
            _wrapped(con, f"{r['cloud_dream_id'] or '-'}: {r['note']}", whole=(r["cloud_dream_id"],))
    unfinished = [r for r in rows if not r["finished"] and r["cloud_dream_id"] is not None]
    asked = [r for r in unfinished if r["status"] not in ("completed", "failed", "canceled")]
    completed = [r for r in unfinished if r["status"] == "completed"]
    if asked and not refreshed:
        one = len(asked) == 1
        note(f"{_plural(len(asked), 'unfinished dream')} not final when last seen: {prefix} cloud dream list "
             f"--refresh asks the API for {'its status' if one else 'their statuses'}")
    if completed and not refreshed:
        note(f"{_plural(len(completed), 'completed dream')} with no proposal written: {prefix} cloud dream list "
             f"--refresh writes {'it' if len(completed) == 1 else 'them'}")


def say_brought_in(written: list[tuple[str, str]], prefix: str = "dreamcli") -> None:
    """A line on stderr for each proposal `cloud dream list --refresh` wrote, with the command to review it."""
    for cloud_id, proposal in written:
        _say(f"cloud dream {cloud_id} completed while no dreamcli waited on it: local proposal {proposal} "
             f"written; review: {prefix} playbooks diff {proposal}")
