"""`dreamcli config`: `show`, the merged configuration and where each value came from; `trust`, the
commands a workspace's own config.yaml allows without asking (dreamcli.agent.config_trust)."""

from __future__ import annotations

import json
from typing import Any

import typer

from dreamcli.cli.common import open_workspace, print_json
from dreamcli.cli.group import Group

HELP = "The configuration in effect: defaults, the user's file, the workspace's file."
EPILOG = """Layers, lowest first: built-in defaults; the user's config
($DREAMCLI_CONFIG, else $XDG_CONFIG_HOME/dreamcli/config.yaml, else
~/.config/dreamcli/config.yaml); the workspace's config.yaml. A section merges
key by key; a list replaces the one below it.

approvals.allow_commands in a workspace's config.yaml (which may have come
with a cloned project) runs commands without asking only once you trust it:
`dreamcli config trust` (again after the list changes).

Examples:

\b
  dreamcli config show
  dreamcli config show --json
  dreamcli config trust
  dreamcli config trust --revoke
"""

config_group = Group(help=HELP, epilog=EPILOG, no_args_is_help=True,
                     short_help="Show the configuration in effect.")


def _leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def _source_of(key: str, layers: list[tuple[str, Any, dict[str, Any]]]) -> str:
    for source, file, data in reversed(layers):
        node: Any = data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            return f"{source} ({file})"
    return "default"


def _sources(values: dict[str, Any], stored: dict[str, Any], layers: list[tuple[str, Any, dict[str, Any]]],
             ) -> dict[str, str]:
    """Where each value in effect (`values`) came from: the top file that sets its key, unless the value is
    one `in_effect` put in place of the merged one (`stored`): a `models.*` that a file sets to null or ""
    leaves the built-in id in effect, so the default decided it, not that file."""
    return {key: "default" if value != stored.get(key) else _source_of(key, layers) for key, value in values.items()}


@config_group.command("show", short_help="Every setting, its value and its source.",
                      epilog="Examples:\n\n\b\n  dreamcli config show\n"
                             "  dreamcli config show --json")
def show_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON: the values, their sources, the files."),
) -> None:
    """Every setting with its value and its source (default, user or workspace file)."""
    from dreamcli.config import config_layers, in_effect, load_config, user_config_path

    ws = open_workspace(ctx, create=False)
    layers = config_layers(ws.config_path)
    merged = load_config(ws.config_path)
    effective = in_effect(merged)
    values = _leaves(effective)
    sources = _sources(values, _leaves(merged.model_dump(mode="json")), layers)
    files = {"user": str(user_config_path()), "workspace": str(ws.config_path)}
    if as_json:
        print_json({"version": 1, "config": effective,
                    "sources": sources, "files": files,
                    "loaded": [str(f) for _, f, _ in layers]})
        return
    width = max(len(k) for k in values)
    lines = [f"# user:      {files['user']}" + ("" if any(s == "user" for s, _, _ in layers) else " (none)"),
             f"# workspace: {files['workspace']}" + ("" if any(s == "workspace" for s, _, _ in layers)
                                                       else " (none)")]
    for key, value in values.items():
        shown = json.dumps(value, ensure_ascii=False)
        lines.append(f"{key.ljust(width)} = {shown}   # {sources[key].split(' ')[0]}")
    from dreamcli.ui.workspace_view import print_lines

    print_lines(lines)


@config_group.command("trust", short_help="Trust this workspace's allowed commands.",
                      epilog="Examples:\n\n\b\n  dreamcli config trust\n"
                             "  dreamcli config trust --revoke --json")
def trust_cmd(
    ctx: typer.Context,
    revoke: bool = typer.Option(False, "--revoke", help="Forget the trust: ask about those commands again."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: the workspace, the patterns, trusted or not."),
) -> None:
    """Trust the workspace config.yaml's approvals.allow_commands, so runs stop asking about them.

    The list is recorded (with this workspace's directory) in your own state directory, never in the
    workspace: a copy of the workspace elsewhere, or a changed list, is asked about again."""
    from dreamcli.agent import config_trust
    from dreamcli.ui.console import note

    ws = open_workspace(ctx, create=False)
    patterns = config_trust.workspace_commands(ws)
    if revoke:
        forgot = config_trust.revoke(ws)
        if as_json:
            print_json({"version": 1, "workspace": str(ws.root), "revoked": forgot})
        else:
            note(f"{ws.root}: {'no longer trusted' if forgot else 'nothing was trusted'}; "
                 "approvals.allow_commands from its config.yaml will be asked about.")
        return
    if not patterns:
        if as_json:
            print_json({"version": 1, "workspace": str(ws.root), "allow_commands": [], "trusted": False})
        else:
            note(f"{ws.config_path} sets no approvals.allow_commands: nothing to trust.")
        return
    path = config_trust.trust(ws, patterns)
    if as_json:
        print_json({"version": 1, "workspace": str(ws.root), "allow_commands": patterns, "trusted": True,
                    "file": str(path)})
        return
    note(f"Trusted in {ws.root}: " + ", ".join(repr(p) for p in patterns) + ". Runs here allow those "
         f"commands without asking until the list changes (recorded in {path}).")


def register(app: typer.Typer, sub: str | None = None) -> None:
    app.add_typer(config_group.build(sub), name="config")
