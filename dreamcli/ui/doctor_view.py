"""Rendering for `dreamcli doctor`: one line per check on stdout, the verdict on stderr."""

from __future__ import annotations

from collections.abc import Sequence

from dreamcli.doctor import Check
from dreamcli.ui.console import info, out, print_block, safe_markup

_LABEL = {"ok": "OK", "warn": "WARN", "fail": "FAIL"}
_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def render_checks(checks: Sequence[Check]) -> None:
    """`STATUS  name  detail` per check, and `fix: ...` for anything not OK (colour only on a terminal).
    On a terminal a long detail wraps between words to its width, under the detail column; on a pipe
    each check stays one line (for grep), unless COLUMNS sets a width: then it wraps to that, as on a
    terminal."""
    console = out()
    width = max((len(c.name) for c in checks), default=0)
    rows = []
    for c in checks:
        label = f"{_LABEL[c.status]:<4}"
        fix = f"  [dim]fix:[/] {safe_markup(c.fix, one_line=True)}" if c.fix and c.status != "ok" else ""
        name, detail = safe_markup(c.name, one_line=True), safe_markup(c.detail, one_line=True)
        rows.append((f"[{_STYLE[c.status]}]{label}[/]", name, f"{detail}{fix}"))
    if not console.is_terminal:
        from rich.text import Text

        columns = _columns()
        for label, name, rest in rows:
            pad = " " * (width - len(Text.from_markup(name).plain))
            line = f"{label}  {name}{pad}  {rest}"
            plain = Text.from_markup(line).plain
            if columns is None or len(plain) <= columns:
                console.print(line, markup=True, highlight=False, soft_wrap=True)
                continue
            from dreamcli.ui.prose import wrap

            hanging = " " * (width + 8 if columns - width - 8 >= 30 else 4)  # under the detail column
            for part in wrap(plain, columns, hanging=hanging):
                console.print(part, markup=False, highlight=False, soft_wrap=True)
        return
    from rich.table import Table

    grid = Table.grid(padding=(0, 2, 0, 0))
    grid.add_column(no_wrap=True, width=4)
    grid.add_column(no_wrap=True)  # check names are short: they stay whole
    grid.add_column(overflow="fold")
    for row in rows:
        grid.add_row(*row)
    print_block(console, grid, highlight=False)


def _columns() -> int | None:
    """The width COLUMNS sets (at least 40), or None when it sets none."""
    from dreamcli.ui.console import env_columns

    columns = env_columns()
    return None if columns is None else max(40, columns)


def render_summary(checks: Sequence[Check]) -> None:
    fails = sum(c.status == "fail" for c in checks)
    warns = sum(c.status == "warn" for c in checks)
    if not fails and not warns:
        info(f"All {len(checks)} checks passed.")
        return
    parts = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in ((fails, "failure"), (warns, "warning")) if n]
    info(f"{', '.join(parts)}{'' if fails else ', no failures'}: the fixes are on the lines above.")
