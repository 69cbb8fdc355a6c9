"""Rendering of `dreamcli playbooks audit --verify`. Reasons, names and notes may quote the trail's own
lines (untrusted: a hand-edited line), so each is printed through `safe_markup`."""

from __future__ import annotations

from typing import Any

from dreamcli.ui.console import err, out, safe_markup
from dreamcli.ui.plural import count
from dreamcli.ui.prose import print_hanging


def render_verify(result: dict[str, Any]) -> None:
    c = out()
    mark = "[green]OK[/]" if result["ok"] else "[bold red]BROKEN[/]"
    c.print(f"audit trail {mark}: {result['lines']} lines ({result['chained_lines']} chained, "
            f"{result['legacy_lines']} from before the chain)")
    for b in result["breaks"][:20]:
        where = f"line {b['line']}" if b.get("line") else "trail"
        print_hanging(c, f"  [red]✗[/] {where}: {safe_markup(b['reason'], one_line=True)}")
    if len(result["breaks"]) > 20:
        c.print(f"  … {len(result['breaks']) - 20} more breaks (--json lists them)")
    for p in result["playbooks"]:
        sign = "[green]✓[/]" if p["ok"] else "[red]✗[/]"
        print_hanging(c, f"  {sign} playbook {safe_markup(p['playbook'], one_line=True)}: "
                         f"{safe_markup(p['reason'], one_line=True)}")
    kept = result.get("history") or {}
    for h in kept.get("problems", [])[:20]:
        print_hanging(c, f"  [red]✗[/] kept version: {safe_markup(h.get('reason'), one_line=True)}")
    if kept.get("checked"):
        bad = len(kept.get("problems", []))
        sign = "[green]✓[/]" if not bad else "[red]✗[/]"
        c.print(f"  {sign} kept versions: {kept['checked'] - bad} of {kept['checked']} as recorded")
    sigs = result.get("signatures")
    if sigs:
        failed = sorted([*sigs["invalid"], *sigs.get("unsigned_after_signed", []), *sigs.get("unsigned_required", [])],
                     key=lambda s: s["line"])
        # unsigned records nothing requires signed: a trail stripped of every signature looks like this
        loose = bool(sigs["unsigned"]) and not sigs.get("signed_from")
        state = "[red]✗[/]" if failed else "[yellow]![/]" if loose else "[green]✓[/]"
        signers = f" ({', '.join(safe_markup(s, one_line=True) for s in sigs['signers'])})" if sigs["signers"] else ""
        since = f"; required from line {sigs['signed_from']} on" if sigs.get("signed_from") else ""
        print_hanging(c, f"  {state} signatures: {sigs['valid']} of {sigs['checked']} valid{signers}; "
                         f"{sigs['unsigned']} chained records unsigned{since}"
                         + ("; nothing requires them signed (--signed-from LINE does)" if loose else ""))
        for s in failed[:10]:
            print_hanging(c, f"  [red]✗[/] line {s['line']}: {safe_markup(s['reason'], one_line=True)}")
        if len(failed) > 10:
            c.print(f"  … {len(failed) - 10} more signature problems (--json lists them)")
    _render_evidence(result.get("evidence") or {})
    anchor = result.get("anchor")
    if anchor:
        sign = "[green]✓[/]" if anchor["ok"] else "[red]✗[/]"
        c.print(f"  {sign} anchor: line {anchor['line']} {'is' if anchor['ok'] else 'is not'} as anchored")
    head = result.get("head")
    if head and result["ok"]:  # to keep elsewhere (a ticket, CI's log): `--anchor` checks it later
        c.print(f"  head: {head['line']}:{head['hash']}", soft_wrap=True)
    for n in result["notes"][:10]:
        where = f"line {n['line']}: " if n.get("line") else ""
        err().print(f"note: {where}{safe_markup(n['note'], one_line=True)}", style="dim")


def _render_evidence(evidence: dict[str, Any]) -> None:
    """Whether each decision's proposal is still the file it was decided on; decisions from before
    proposal hashes are counted, not checked."""
    c = out()
    checked, problems, unhashed = evidence.get("checked", 0), evidence.get("problems", []), evidence.get("unhashed", 0)
    for p in problems[:20]:
        print_hanging(c, f"  [red]✗[/] line {p['line']}: {safe_markup(p['reason'], one_line=True)}")
    if len(problems) > 20:
        c.print(f"  … {len(problems) - 20} more proposal problems (--json lists them)")
    if checked or unhashed:
        sign = "[green]✓[/]" if not problems else "[red]✗[/]"
        older = f"; {count(unhashed, 'decision')} from before proposal hashes" if unhashed else ""
        c.print(f"  {sign} proposals: {checked - len(problems)} of {checked} as decided on{older}")
