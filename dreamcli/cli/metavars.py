"""Help synopses in words, not Python types: `--limit N`, `--since WHEN`, `[DREAM_ID]`, `BUNDLE`.

Typer prints an option's value as its Python type (`<list[Path]>`, `<int range>`) and wraps an
argument's name in `{}` or `[]` around the metavar it was given (`[[DREAM_ID]]`, `{bundle}`). Once
the command tree is built, `apply(command)` gives every option that takes a value a metavar (its own,
else one from `NAMES`, else its name in capitals) and makes arguments read as `NAME`, `[NAME]`,
`NAME...`. The vocabulary is written down in docs/cli.md.
"""

from __future__ import annotations

from typing import Any

# value names by option name (the Python parameter name); anything else: the name in capitals
NAMES = {
    "since": "WHEN", "until": "WHEN", "limit": "N", "last": "N", "parallel": "N", "concurrency": "N",
    "max_turns": "N", "trials": "N", "workdir": "DIR", "output": "FILE", "into": "FILE", "junit": "FILE",
    "summary": "FILE", "html": "FILE", "outcome": "SPEC", "model": "MODEL", "playbook": "NAME",
    "status": "STATUS", "task": "TASK", "wait": "SECONDS", "format": "FORMAT", "actor": "NAME",
    "reviewer": "NAME", "reason": "TEXT", "text": "TEXT", "edit_text": "TEXT", "prompt": "PROMPT",
    "entry": "ENTRY_ID", "action": "ACTION", "max_cost": "USD", "workers": "N",
}


def _arg_name(param: Any) -> str:
    meta = param.metavar or (param.name or "arg").upper()
    return str(meta).strip("[]{}").removesuffix("...")


def _fix_argument(param: Any) -> None:
    name = _arg_name(param)
    many = param.nargs != 1
    usage = (name if param.required else f"[{name}]") + ("..." if many else "")
    param.metavar = name + ("..." if many else "")
    # instance attributes win over Typer's methods: the usage line and the help column read NAME
    param._usage_display_name = lambda: usage
    param.display_type_rich = lambda ctx=None: ""


def _fix_option(param: Any) -> None:
    if getattr(param, "is_flag", False) or getattr(param, "count", False) or param.metavar:
        return
    param.metavar = NAMES.get(param.name or "", (param.name or "value").upper())


def apply(command: Any) -> None:
    """Set the metavars of `command` and of every command under it."""
    for param in getattr(command, "params", []):
        kind = getattr(param, "param_type_name", "")
        if kind == "argument":
            _fix_argument(param)
        elif kind == "option":
            _fix_option(param)
    for sub in getattr(command, "commands", {}).values():
        apply(sub)
