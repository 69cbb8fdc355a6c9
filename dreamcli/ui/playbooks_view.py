"""Rendering for `dreamcli playbooks`: listings, the rendered playbook, the side-by-side proposal diff,
review results, lint findings and the review prompts (terminal only). History and the audit trail:
dreamcli.ui.playbook_trail_view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from dreamcli.playbooks.proposals import past_tense
from dreamcli.ui.console import err, neutralise_controls, note, out, safe_markup
from dreamcli.ui.plural import count
from dreamcli.ui.prose import print_hanging

_T = TypeVar("_T")

_CHANGE_STYLE = {"added": "green", "changed": "yellow", "merged": "cyan", "retired": "red", "counts": "dim"}
_SEVERITY_STYLE = {"block": "bold red", "warn": "yellow", "warning": "yellow", "info": "dim"}
EVIDENCE_SHOWN = 3  # excerpts per entry on the terminal; `--json` and the HTML page have them all


def _ver(version: Any) -> str:
    return "(none)" if version is None else f"v{version}"


def _esc(text: Any, *, one_line: bool = True) -> str:
    """Untrusted text as markup printing it as it is (`safe_markup`): on one line unless told."""
    return safe_markup(text, one_line=one_line)


def render_list(rows: list[dict[str, Any]]) -> None:
    if not rows:
        note("no playbooks yet (they appear when a dream's proposal is approved)")  # no Rich console on a pipe
        return
    from dreamcli.ui.tables import Col, print_table

    cols = [Col("name", kind="id"), Col("version", kind="num", justify="right"),
            Col("entries", kind="num", justify="right", priority=2), Col("tokens", kind="num", justify="right",
                                                                         priority=4),
            Col("updated", priority=3), Col("pending", priority=1)]
    table_rows = []
    for r in rows:
        pending = "-"
        if r["pending_dreams"]:
            n = len(r["pending_dreams"])
            pending = f"[yellow]{count(r['pending_entries'], 'entry')} in {count(n, 'dream')}[/]"
        version = "[red]unreadable[/]" if r.get("error") else ("new" if r["version"] is None else f"v{r['version']}")
        table_rows.append([_esc(r["name"]), version, str(r["entries"]), str(r["tokens"]),
                           _esc((r["updated"] or "-")[:19].replace("T", " ")), pending])
    print_table(cols, table_rows)


def render_playbook_view(data: dict[str, Any]) -> None:
    """A readable view: title, description, sections, entries with dim metadata. On a terminal a long line
    wraps under its text (an entry's at 4 columns); off it each line is printed whole."""
    c = out()
    print_hanging(c, f"[bold]{_esc(data['name'])}[/]  v{data['version']}  [dim]updated "
                     f"{_esc(data['updated'] or '-')}  ~{data['tokens']} tokens[/]")
    if data["description"]:
        print_hanging(c, _esc(data["description"], one_line=False), 0)
    scope = data.get("scope") or {}
    if scope:
        print_hanging(c, "[dim]scope: " + _esc(", ".join(f"{k}={v}" for k, v in scope.items())) + "[/]")
    section: object = object()
    for e in data["entries"]:
        if e["section"] != section:
            section = e["section"]
            print_hanging(c, f"\n[bold underline]{_esc(section or '(no section)')}[/]")
        text = _esc(e["text"], one_line=False).replace("\n", "\n    ")
        print_hanging(c, f"  [cyan]{_esc(e['id'])}[/]  {text}")
        meta = f"helpful {e['helpful']} · harmful {e['harmful']} · {count(len(e['sources']), 'session')}"
        if e["first_seen"] or e["last_seen"]:
            meta += f" · seen {_esc(e['first_seen'] or '?')} → {_esc(e['last_seen'] or '?')}"
        print_hanging(c, f"    [dim]{meta}[/]", 6)
    if not data["entries"]:
        c.print("\n[dim](no entries)[/]")


def _support(item: dict[str, Any]) -> str:
    s = item.get("support") or {}
    parts = []
    if "sessions" in s:
        parts.append(count(s['sessions'], 'session') + (f" of {s['total_sessions']}" if "total_sessions" in s else ""))
    if "successes" in s:
        parts.append(f"{s['successes']} succeeded")
    if item.get("impact") is not None:
        parts.append(f"impact {item['impact']:.2f}")
    return ", ".join(parts) or "-"


class _Lines:
    """Pre-laid-out lines of (text, style) segments, emitted in one write: plain text when colour is
    off (fast for hundreds of entries), Rich Text on a terminal."""

    def __init__(self) -> None:
        self.lines: list[list[tuple[str, str]]] = []

    def add(self, *segments: tuple[str, str] | str) -> None:
        """One line; its text is untrusted, so each control character (a newline too) is neutralised."""
        self.lines.append([(neutralise_controls(seg, one_line=True), "") if isinstance(seg, str)
                           else (neutralise_controls(seg[0], one_line=True), seg[1]) for seg in segments])

    def emit(self, which: str = "out", width: int | None = None) -> None:
        """Write to stdout ("out") or stderr ("err"); Rich is only loaded when colour is on. With a
        `width`, a longer line wraps between words (styles kept), its later lines indented."""
        import sys

        from dreamcli.ui.console import _color_allowed, _console

        if not self.lines:
            return
        lines = self.lines if width is None else [part for line in self.lines for part in fit(line, width)]
        stream = sys.stdout if which == "out" else sys.stderr
        if not _color_allowed(stream):
            stream.write("".join("".join(t for t, _ in line) + "\n" for line in lines))
            stream.flush()
            return
        from rich.text import Text

        texts = [Text.assemble(*line) for line in lines]
        _console(which).print(Text("\n").join(texts), soft_wrap=True, highlight=False)


def fit(line: list[tuple[str, str]], width: int) -> list[list[tuple[str, str]]]:
    """One line of styled segments as lines of at most `width` columns, broken between words and between
    two CJK characters (a word longer than the width stays whole, so does a code span that fits); later
    lines are indented four more than the first."""
    if any(t in (" │ ", " │") for t, _ in line):
        return [line]  # a side-by-side row is laid out to the width already
    from dreamcli.ui.wrapping import hang_breaks

    text = "".join(t for t, _ in line)
    indent, pieces = hang_breaks(text, width, len(text) - len(text.lstrip(" ")) + 4)
    if len(pieces) == 1:
        return [line]
    return [([(" " * indent, "")] if n else []) + _slice(line, start, end) for n, (start, end) in enumerate(pieces)]


def _slice(line: list[tuple[str, str]], start: int, end: int) -> list[tuple[str, str]]:
    """Characters start..end of the line as segments keeping their styles, a word or a run of spaces each."""
    import re

    out, at = [], 0
    for text, style in line:
        a, b = max(start, at), min(end, at + len(text))
        if a < b:
            out += [(part, style) for part in re.split(r"( +)", text[a - at:b - at]) if part]
        at += len(text)
    return out


def _width() -> int:
    import shutil

    return max(shutil.get_terminal_size((80, 24)).columns, 60)


def _wrap(text: str | None, width: int) -> list[str]:
    """A side of the side-by-side diff as lines of at most `width` columns: broken between words and CJK
    characters, a code span that fits whole, a longer word folded (after a `-`, `_`, `/` or `.` first)."""
    from dreamcli.ui.wrapping import wrap_para

    if not text:
        return []
    return [part for para in text.split("\n") for part in wrap_para(para, width, fold=True)]


def _pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` columns (a wide character takes two)."""
    from dreamcli.ui.graphemes import cells

    return text + " " * (width - cells(text))


def render_diff(dreams: list[dict[str, Any]]) -> None:
    if not dreams:
        err().print("nothing to review: no pending proposals", style="dim")
        return
    width = _width()
    lines = _Lines()
    for d in dreams:
        live = "new playbook" if d["live_version"] is None else f"live v{d['live_version']}"
        lines.add("")
        lines.add((f"dream {d['dream_id']}", "bold"), " → playbook ", (d["playbook"], "bold"),
                  (f" (read v{d['base_version']}, {live}, {d['status']}; ~{d['tokens_now']} → "
                   f"~{d['tokens_after']} tokens; {len(d['operations'])} changes)", "dim"))
        for f in d.get("lint") or []:
            lines.add("  ", *_finding_segments(f))
        for item in d["operations"]:
            _item_lines(lines, item, width)
    lines.emit("out", width)


def _finding_segments(f: dict[str, Any]) -> list[tuple[str, str]]:
    sev = str(f.get("severity", "warn")).lower()
    return [(sev, _SEVERITY_STYLE.get(sev, "")), (f" {f.get('rule', '')}: {f.get('message', '')}", "")]


def _finding(f: dict[str, Any]) -> str:
    sev = str(f.get("severity", "warn")).lower()
    return f"[{_SEVERITY_STYLE.get(sev, '')}]{_esc(sev)}[/] {_esc(f.get('rule', ''))}: {_esc(f.get('message', ''))}"


def _item_lines(lines: _Lines, item: dict[str, Any], width: int) -> None:
    change = item["change"]
    style = _CHANGE_STYLE.get(change, "")
    where = item["path"] if item["target"] == "memory" else (item.get("section") or "")
    head: list[tuple[str, str] | str] = [(change.upper(), style), " ", (item["entry_id"], "cyan")]
    if item["target"] == "memory":
        head.append((" (memory)", "dim"))
    head.append((f"  {where}", "dim"))
    if item.get("decision"):
        head.append((f"  {past_tense(item['decision'])}", "bold"))
        if item.get("reverted"):
            head.append((", since reverted (not in the live playbook)", "yellow"))
    elif item.get("fits") == "conflict":
        head.append(("  CONFLICT", "bold red"))
    elif item.get("fits") == "already":
        head.append(("  (already in the playbook)", "dim"))
    if item.get("edited"):
        head.append(("  edited by reviewer", "magenta"))
    lines.add("")
    lines.add(*head)
    old = neutralise_controls(item["old_text"]) if item.get("old_text") else None  # before the layout
    if item.get("merged"):
        parts = [neutralise_controls(f"[{m['entry_id']}] {m['text'] or '(gone)'}") for m in item["merged"]]
        old = "\n".join(([f"[{item['entry_id']}] {old}"] if old else []) + parts)
    new = neutralise_controls(item["new_text"]) if item.get("new_text") else None
    if change == "counts":
        new = neutralise_controls("counts: " + ", ".join(f"{k}={v}" for k, v in (item.get("metadata") or {}).items()
                                                         if k in ("helpful", "harmful", "last_seen")))
    col = max((width - 5) // 2, 20)
    left = _wrap(old, col) or ["(none)"]
    right = _wrap(new, col) or ["(removed)"]
    lines.add(("  " + "now".ljust(col) + " │ proposed", "dim"))
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ""
        b = right[i] if i < len(right) else ""
        lines.add("  " + _pad(a, col), (" │ " if b else " │", "dim"), (b, style))  # no line ends in a space
    why: list[tuple[str, str] | str] = [("  support: ", "dim"), _support(item)]
    if item.get("reason"):
        why += [("  why: ", "dim"), item["reason"]]
    lines.add(*why)
    if item.get("pilot"):
        for segments in _pilot_lines(item["pilot"]):
            lines.add(*segments)
    evidence = item.get("evidence") or []
    for ev in evidence[:EVIDENCE_SHOWN]:
        where = str(ev.get("session_id") or ev.get("path") or "memory store")
        where += f"#{ev['seq']}" if ev.get("seq") is not None else ""
        lines.add((f"  · {where}: ", "dim"), str(ev.get("excerpt") or ""))
    hidden = max(item.get("evidence_total", 0), len(evidence)) - min(len(evidence), EVIDENCE_SHOWN)
    if hidden > 0:
        lines.add((f"  · … {hidden} more (--json shows them)", "dim"))
    for f in item.get("lint") or []:
        lines.add("  ", *_finding_segments(f))
    if item.get("taint"):
        lines.add(("  TAINTED", "bold yellow"), f": evidence only from untrusted content ({', '.join(item['taint'])});"
                  " approve --all leaves it out unless --include-tainted")
    if item.get("conflict"):
        lines.add(("  conflict: ", "red"), item["conflict"])


def _pilot_lines(lift: dict[str, Any]) -> list[list[tuple[str, str] | str]]:
    """`pilot: lift +0.30 (95% CI -0.10..+0.60, p 0.18, 20 pairs; alone) unknown`, coloured by the CI, and
    for `--per-entry` `leave-one-out: +0.00 (...) dead weight?`; or, measured on other text, `pilot:
    measured an earlier text; re-run the pilot (it measured: lift ...)`."""
    from dreamcli.figures import p_text, signed
    from dreamcli.pilot.stats import HELPS, HURTS, NO_LIFT
    from dreamcli.ui.pilot_view import ci_text, effect_word, lift_phrase

    if isinstance(lift.get("stale"), str):
        return [[("  pilot: ", "dim"), (f"{lift['stale']}; re-run the pilot", "yellow"),
                 (f" (it measured: {lift_phrase(lift)})", "dim")]]
    style = {"helps": "green", "hurts": "red"}.get(effect_word(lift["ci95"], lift.get("p_value"), lift.get("pairs")),
                                               "yellow")
    out: list[list[tuple[str, str] | str]] = [[("  pilot: ", "dim"), (lift_phrase(lift), style)]]
    own = lift.get("leave_one_out_lift")
    if isinstance(own, dict):
        p = own.get("p_value")
        word = effect_word(own["ci95"], p, own.get("pairs"))
        said, colour = {HELPS: ("carries lift", "green"), HURTS: ("hurts", "red"),
                        NO_LIFT: ("dead weight?", "dim")}.get(word, ("unknown", "yellow"))
        numbers = ", ".join([f"95% CI {ci_text(own['ci95'])}", *([f"p {p_text(p)}"] if p is not None else []),
                             f"{own.get('pairs', 0)} pairs"])
        out.append([("  leave-one-out: ", "dim"), (f"{signed(float(own['delta']))} ({numbers}) {said}", colour)])
    return out


def render_review(result: dict[str, Any]) -> None:
    """What approve/reject did, on stderr (grouped by kind when there are many)."""
    lines = _Lines()
    verb = {"approve": "approved", "reject": "rejected"}.get(result["action"], result["action"])
    outcomes = result["outcomes"]
    detail = len(outcomes) <= 20
    groups: dict[tuple[str, str], list[str]] = {}
    for o in outcomes:
        if o["result"] == "conflict":
            lines.add(("refused", "red"), f" {o['entry_id']} ({o['op']}): {o['reason']}")
        elif detail and o["result"] == "already":
            lines.add(("already", "dim"), f" {o['entry_id']} ({o['op']}): {o['reason']}")
        elif detail:
            lines.add((verb, "green"), f" {o['entry_id']} ({o['op']})")
        else:
            groups.setdefault((o["result"], o["op"]), []).append(o["entry_id"])
    for (res, kind), ids in groups.items():
        word = verb if res != "already" else "already applied"
        lines.add((word, "green" if res != "already" else "dim"), f" {len(ids)} × {kind}")
    for sk in result["skipped"][:20]:
        lines.add((f"skipped {sk['entry_id']}: {sk['reason']}", "dim"))
    if len(result["skipped"]) > 20:
        lines.add((f"skipped {count(len(result['skipped']), 'entry')} in all", "dim"))
    if result.get("version_after") is not None:
        lines.add(f"{result['playbook']}: {_ver(result['version_before'])} → {_ver(result['version_after'])}; "
                  f"dream {result['dream_id']} is {result['status']}")
    elif not outcomes:
        lines.add(f"nothing to do for dream {result['dream_id']} ({result['status']})")
    else:
        lines.add(f"dream {result['dream_id']} is {result['status']}")
    lines.emit("err")


def render_lint(name: str, findings: list[dict[str, Any]], entries: int) -> None:
    c = out()
    for f in findings:
        print_hanging(c, f"[cyan]{_esc(_lint_where(f))}[/] {_finding(f)}")
    blocks = sum(1 for f in findings if f.get("severity") == "block")
    err().print(f"{_esc(name)}: {count(entries, 'entry')}, {count(len(findings), 'finding')} ({blocks} blocking)")


def _lint_where(f: dict[str, Any]) -> str:
    """What a `playbooks lint` finding is about: an entry id, `description`, or `section 'TITLE'`."""
    if f.get("part") == "section":
        return f"section {f.get('section')!r}"
    return str(f.get("entry_id") or f.get("part"))


# --- prompts (only ever called on a terminal) ---------------------------------------------------

def confirm(question: str) -> bool:
    """Yes or no; Ctrl-D (end of input) is no."""
    from rich.prompt import Confirm

    return _asked(lambda: Confirm.ask(question, console=err(), default=False), False)


def choose(question: str, choices: list[str], default: str, *, on_eof: str | None = None) -> str:
    """One of `choices`; Ctrl-D (end of input) answers `on_eof` (the default unless given)."""
    from rich.prompt import Prompt

    return _asked(lambda: Prompt.ask(question, console=err(), choices=choices, default=default),
                  on_eof if on_eof is not None else default)


def ask_text(question: str) -> str | None:
    """A line of text; None on Ctrl-D (end of input)."""
    from rich.prompt import Prompt

    return _asked(lambda: Prompt.ask(question, console=err()), None)


def _asked(ask: Callable[[], _T], on_eof: _T) -> _T:
    """The answer `ask` reads, `on_eof` on Ctrl-D. Ctrl-D and Ctrl-C (and SIGTERM, SIGHUP) end the prompt's
    line first, as the terminal echoed no newline: what follows (the `error:` line) starts one of its own."""
    try:
        return ask()
    except EOFError:
        err().print()
        return on_eof
    except BaseException:
        err().print()
        raise


def show_item(dream: dict[str, Any], item: dict[str, Any]) -> None:
    lines = _Lines()
    lines.add("")
    lines.add((f"dream {dream['dream_id']}", "bold"), f" → {dream['playbook']}")
    width = _width()
    _item_lines(lines, item, width)
    lines.emit("err", width)  # support and evidence lines wrap between words, indented, as in `diff`
