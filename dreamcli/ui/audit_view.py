"""Rendering of `dreamcli playbooks audit --verify`."""

from __future__ import annotations

from typing import Any

from dreamcli.ui.console import err, out


def render_verify(result: dict[str, Any]) -> None:
    from rich.markup import escape

    c = out()
    mark = "[green]OK[/]" if result["ok"] else "[bold red]BROKEN[/]"
    c.print(f"audit trail {mark}: {result['lines']} lines ({result['chained_lines']} chained, "
            f"{result['legacy_lines']} from before the chain)")
    for b in result["breaks"][:20]:
        where = f"line {b['line']}" if b.get("line") else "trail"
        c.print(f"  [red]✗[/] {where}: {escape(str(b['reason']))}")
    if len(result["breaks"]) > 20:
        c.print(f"  … {len(result['breaks']) - 20} more breaks (--json lists them)")
    for p in result["playbooks"]:
        sign = "[green]✓[/]" if p["ok"] else "[red]✗[/]"
        c.print(f"  {sign} playbook {escape(p['playbook'])}: {escape(p['reason'])}")
    sigs = result.get("signatures")
    if sigs:
        state = "[green]✓[/]" if not sigs["invalid"] else "[red]✗[/]"
        c.print(f"  {state} signatures: {sigs['valid']} of {sigs['checked']} valid"
                + (f" ({', '.join(escape(s) for s in sigs['signers'])})" if sigs["signers"] else "")
                + f"; {sigs['unsigned']} chained records unsigned")
        for s in sigs["invalid"][:10]:
            c.print(f"  [red]✗[/] line {s['line']}: {escape(str(s['reason']))}")
    for n in result["notes"][:10]:
        err().print(f"note: {'line ' + str(n['line']) + ': ' if n.get('line') else ''}{n['note']}", style="dim")
