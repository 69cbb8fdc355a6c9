"""Rendering for `dreamcli playbooks`: listings, the rendered playbook, the side-by-side proposal diff,
review results, history, lint findings, the audit trail, and the review prompts (terminal only)."""

from __future__ import annotations

from typing import Any

from dreamcli.ui.console import err, out

_CHANGE_STYLE = {"added": "green", "changed": "yellow", "merged": "cyan", "retired": "red", "counts": "dim"}
_SEVERITY_STYLE = {"block": "bold red", "warn": "yellow", "warning": "yellow", "info": "dim"}


def _esc(text: Any) -> str:
    from rich.markup import escape

    return escape("" if text is None else str(text))


def render_list(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    if not rows:
        err().print("no playbooks yet (they appear when a dream's proposal is approved)", style="dim")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col, justify in (("name", "left"), ("version", "right"), ("entries", "right"), ("tokens", "right"),
                         ("updated", "left"), ("pending", "left")):
        table.add_column(col, justify=justify, no_wrap=col != "pending")  # type: ignore[arg-type]
    for r in rows:
        pending = "-"
        if r["pending_dreams"]:
            n = len(r["pending_dreams"])
            pending = f"[yellow]{r['pending_entries']} entries in {n} dream{'s' if n > 1 else ''}[/]"
        version = "[red]unreadable[/]" if r.get("error") else ("new" if r["version"] is None else f"v{r['version']}")
        table.add_row(_esc(r["name"]), version, str(r["entries"]), str(r["tokens"]),
                      _esc((r["updated"] or "-")[:19].replace("T", " ")), pending)
    out().print(table)


def render_playbook_view(data: dict[str, Any]) -> None:
    """A readable view: title, description, sections, entries with dim metadata."""
    c = out()
    c.print(f"[bold]{_esc(data['name'])}[/]  v{data['version']}  [dim]updated {_esc(data['updated'] or '-')}"
            f"  ~{data['tokens']} tokens[/]")
    if data["description"]:
        c.print(_esc(data["description"]))
    scope = data.get("scope") or {}
    if scope:
        c.print("[dim]scope: " + _esc(", ".join(f"{k}={v}" for k, v in scope.items())) + "[/]")
    section: object = object()
    for e in data["entries"]:
        if e["section"] != section:
            section = e["section"]
            c.print(f"\n[bold underline]{_esc(section or '(no section)')}[/]")
        text = _esc(e["text"]).replace("\n", "\n    ")
        c.print(f"  [cyan]{e['id']}[/]  {text}")
        meta = f"helpful {e['helpful']} · harmful {e['harmful']} · {len(e['sources'])} sessions"
        if e["first_seen"] or e["last_seen"]:
            meta += f" · seen {e['first_seen'] or '?'} → {e['last_seen'] or '?'}"
        c.print(f"    [dim]{meta}[/]")
    if not data["entries"]:
        c.print("\n[dim](no entries)[/]")


def _support(item: dict[str, Any]) -> str:
    s = item.get("support") or {}
    parts = []
    if "sessions" in s:
        parts.append(f"{s['sessions']} sessions" + (f" of {s['total_sessions']}" if "total_sessions" in s else ""))
    if "successes" in s:
        parts.append(f"{s['successes']} succeeded")
    if item.get("impact") is not None:
        parts.append(f"impact {item['impact']:.2f}")
    return ", ".join(parts) or "-"


def render_diff(dreams: list[dict[str, Any]]) -> None:
    from rich.table import Table

    c = out()
    if not dreams:
        err().print("nothing to review: no pending proposals", style="dim")
        return
    for d in dreams:
        live = "new playbook" if d["live_version"] is None else f"live v{d['live_version']}"
        c.print(f"\n[bold]dream {d['dream_id']}[/] → playbook [bold]{_esc(d['playbook'])}[/] "
                f"([dim]read v{d['base_version']}, {live}, {d['status']}; "
                f"~{d['tokens_now']} → ~{d['tokens_after']} tokens[/])")
        for f in d.get("lint") or []:
            c.print(f"  {_finding(f)}")
        for item in d["operations"]:
            _render_item(c, item, Table)


def _finding(f: dict[str, Any]) -> str:
    sev = str(f.get("severity", "warn")).lower()
    return f"[{_SEVERITY_STYLE.get(sev, '')}]{_esc(sev)}[/] {_esc(f.get('rule', ''))}: {_esc(f.get('message', ''))}"


def _render_item(c: Any, item: dict[str, Any], table_cls: Any) -> None:
    change = item["change"]
    style = _CHANGE_STYLE.get(change, "")
    where = item["path"] if item["target"] == "memory" else (item.get("section") or "")
    head = f"\n[{style}]{change.upper()}[/] [cyan]{item['entry_id']}[/]"
    if item["target"] == "memory":
        head += " [dim](memory)[/]"
    head += f"  [dim]{_esc(where)}[/]"
    if item.get("decision"):
        head += f"  [bold]{item['decision']}d[/]"
    elif item.get("fits") == "conflict":
        head += "  [bold red]CONFLICT[/]"
    elif item.get("fits") == "already":
        head += "  [dim](already in the playbook)[/]"
    if item.get("edited"):
        head += "  [magenta]edited by reviewer[/]"
    c.print(head)
    table = table_cls(box=None, show_header=True, header_style="dim", pad_edge=False, expand=True)
    table.add_column("now", ratio=1, overflow="fold")
    table.add_column("proposed", ratio=1, overflow="fold")
    old = item.get("old_text")
    if item.get("merged"):
        parts = [f"[{m['entry_id']}] {m['text'] or '(gone)'}" for m in item["merged"]]
        old = "\n".join(([f"[{item['entry_id']}] {old}"] if old else []) + parts)
    new = item.get("new_text")
    if change == "counts":
        new = "counts: " + ", ".join(f"{k}={v}" for k, v in (item.get("metadata") or {}).items()
                                     if k in ("helpful", "harmful", "last_seen"))
    table.add_row(_esc(old) if old else "[dim](none)[/]",
                  f"[{style}]{_esc(new)}[/]" if new else "[dim](removed)[/]")
    c.print(table)
    c.print(f"  [dim]support:[/] {_esc(_support(item))}" + (f"  [dim]why:[/] {_esc(item['reason'])}"
                                                            if item.get("reason") else ""))
    for ev in item.get("evidence") or []:
        c.print(f"  [dim]· {_esc(ev.get('session_id'))}#{_esc(ev.get('seq'))}:[/] {_esc(ev.get('excerpt'))}")
    hidden = item.get("evidence_total", 0) - len(item.get("evidence") or [])
    if hidden > 0:
        c.print(f"  [dim]· … {hidden} more (--json shows them)[/]")
    for f in item.get("lint") or []:
        c.print(f"  {_finding(f)}")
    if item.get("conflict"):
        c.print(f"  [red]conflict:[/] {_esc(item['conflict'])}")


def render_review(result: dict[str, Any]) -> None:
    """What approve/reject did, on stderr."""
    c = err()
    verb = {"approve": "approved", "reject": "rejected"}.get(result["action"], result["action"])
    for o in result["outcomes"]:
        if o["result"] == "conflict":
            c.print(f"[red]refused[/] {o['entry_id']} ({o['op']}): {_esc(o['reason'])}")
        elif o["result"] == "already":
            c.print(f"[dim]already[/] {o['entry_id']} ({o['op']}): {_esc(o['reason'])}")
        else:
            c.print(f"[green]{verb}[/] {o['entry_id']} ({o['op']})")
    for s in result["skipped"]:
        c.print(f"[dim]skipped {s['entry_id']}: {_esc(s['reason'])}[/]")
    if result.get("version_after") is not None:
        c.print(f"{_esc(result['playbook'])}: v{result['version_before']} → v{result['version_after']}; "
                f"dream {result['dream_id']} is {result['status']}")
    elif not result["outcomes"]:
        c.print(f"nothing to do for dream {result['dream_id']} ({result['status']})")
    else:
        c.print(f"dream {result['dream_id']} is {result['status']}")


def render_history(name: str, versions: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False, title=None)
    for col in ("version", "updated", "entries", "by", "how", "dream", "hash"):
        table.add_column(col, no_wrap=True, justify="right" if col in ("version", "entries") else "left")
    for v in versions:
        mark = " [green]live[/]" if v["live"] else ""
        table.add_row(f"v{v['version']}{mark}", _esc((v["updated"] or "-")[:19].replace("T", " ")),
                      str(v["entries"]), _esc(v.get("actor") or "-"), _esc(v.get("action") or "-"),
                      _esc(v.get("dream_id") or "-"), _esc((v.get("hash") or "")[7:19]))
    out().print(table)


def render_lint(name: str, findings: list[dict[str, Any]], entries: int) -> None:
    c = out()
    for f in findings:
        c.print(f"[cyan]{f['entry_id']}[/] {_finding(f)}")
    blocks = sum(1 for f in findings if f.get("severity") == "block")
    err().print(f"{_esc(name)}: {entries} entries, {len(findings)} findings ({blocks} blocking)")


def render_audit(records: list[dict[str, Any]]) -> None:
    from rich.table import Table

    if not records:
        err().print("no audit records match", style="dim")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("time", "action", "actor", "playbook", "version", "dream", "entries"):
        table.add_column(col, overflow="fold", no_wrap=col in ("time", "action"))
    for r in records:
        v = ""
        if r.get("version_before") is not None or r.get("version_after") is not None:
            v = f"v{r.get('version_before')} → v{r.get('version_after')}"
        ids = r.get("entry_ids") or []
        shown = ", ".join(ids[:4]) + (f" +{len(ids) - 4}" if len(ids) > 4 else "")
        table.add_row(_esc(str(r.get("ts", ""))[:19].replace("T", " ")), _esc(r.get("action")), _esc(r.get("actor")),
                      _esc(r.get("playbook") or "-"), v, _esc(r.get("dream_id") or "-"), _esc(shown or "-"))
    out().print(table)


# --- prompts (only ever called on a terminal) ---------------------------------------------------

def confirm(question: str) -> bool:
    from rich.prompt import Confirm

    return Confirm.ask(question, console=err(), default=False)


def choose(question: str, choices: list[str], default: str) -> str:
    from rich.prompt import Prompt

    return Prompt.ask(question, console=err(), choices=choices, default=default)


def ask_text(question: str) -> str:
    from rich.prompt import Prompt

    return Prompt.ask(question, console=err())


def show_item(dream: dict[str, Any], item: dict[str, Any]) -> None:
    from rich.table import Table

    err().print(f"\n[bold]dream {dream['dream_id']}[/] → {_esc(dream['playbook'])}")
    _render_item(err(), item, Table)
