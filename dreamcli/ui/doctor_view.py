"""Rendering for `dreamcli doctor`: one line per check on stdout, the verdict on stderr."""

from __future__ import annotations

from collections.abc import Sequence

from dreamcli.doctor import Check
from dreamcli.ui.console import info, out, safe_markup

_LABEL = {"ok": "OK", "warn": "WARN", "fail": "FAIL"}
_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def render_checks(checks: Sequence[Check]) -> None:
    """`STATUS  name  detail` per check, and `fix: ...` for anything not OK (colour only on a terminal)."""
    console = out()
    width = max((len(c.name) for c in checks), default=0)
    for c in checks:
        label = f"{_LABEL[c.status]:<4}"
        fix = f"  [dim]fix:[/] {safe_markup(c.fix, one_line=True)}" if c.fix and c.status != "ok" else ""
        name, detail = safe_markup(c.name, one_line=True), safe_markup(c.detail, one_line=True)
        console.print(f"[{_STYLE[c.status]}]{label}[/]  {name:<{width}}  {detail}{fix}",
                      markup=True, highlight=False, soft_wrap=True)


def render_summary(checks: Sequence[Check]) -> None:
    fails = sum(c.status == "fail" for c in checks)
    warns = sum(c.status == "warn" for c in checks)
    if not fails and not warns:
        info(f"All {len(checks)} checks passed.")
        return
    parts = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in ((fails, "failure"), (warns, "warning")) if n]
    info(f"{', '.join(parts)}{'' if fails else ', no failures'}: the fixes are on the lines above.")
