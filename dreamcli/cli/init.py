"""`dreamcli init [DIR]`: create a project-local workspace (DIR/.dreamcli)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from dreamcli.cli.common import home_prefix, print_json, state
from dreamcli.errors import UsageError
from dreamcli.workspace.fsutil import atomic_write_text, output_error
from dreamcli.workspace.home import ENV_HOME, LOCAL_DIR_NAME, Workspace, check_home_usable, resolve_home
from dreamcli.workspace.userpath import user_path

CONFIG_TEMPLATE = """\
# dreamcli workspace configuration. Every key is optional; see docs/config.md.
# models:
#   agent: claude-sonnet-5-5
#   grader: claude-haiku-5-5
#   dreamer: claude-sonnet-5-5
# limits:
#   max_turns: 50
#   bash_timeout_s: 120
#   model_retries: 4
# redaction:
#   patterns: ["ACME-[0-9]{8}"]
# approvals:
#   allow_commands: ["ls *", "cat *", "pytest*"]
# lint:
#   forbid_phrases: ["refund without a receipt"]
#   allowed_hosts: ["docs.python.org"]
# dream:
#   min_support: 2
#   token_budget: 2000
"""

HELP = ("Create a workspace: DIR/.dreamcli, or the --home / $DREAMCLI_HOME workspace when no DIR is given, "
        "else ./.dreamcli.")
EPILOG = """Examples:

\b
  dreamcli init
  dreamcli init ~/projects/contracts --with-samples
  dreamcli init . --sessions-url s3://fleet/sessions
"""


def register(app: typer.Typer, sub: str | None = None) -> None:
    """Add the command to `app` (`sub`, the word after it, only matters to a group)."""
    @app.command("init", help=HELP, epilog=EPILOG, short_help="Create a workspace (DIR/.dreamcli or --home).")
    def init_cmd(
        ctx: typer.Context,
        directory: Path = typer.Argument(None, help="Project directory (default: current directory)."),
        with_samples: bool = typer.Option(
            False, "--with-samples", help="Also add the bundled sample sessions (to try `dream` offline)."
        ),
        git: bool = typer.Option(False, "--git", help="Keep playbooks/ as a git repository: one commit per "
                                 "approve, reject, edit, revert and import (docs/audit.md)."),
        sessions_url: str = typer.Option(None, "--sessions-url", metavar="URL", help="Store sessions in object "
                                         "storage: s3://BUCKET/PREFIX (needs dreamcli[s3]), gs://, az://, or a "
                                         "shared volume: file:///ABSOLUTE/PATH. Credentials and endpoint come from "
                                         "AWS_* variables (or the cloud's own), never the config (docs/scaling.md)."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        st = state(ctx)
        if sessions_url is not None:
            from dreamcli.store.schemes import check_scheme
            from dreamcli.store.url import check_url

            if not sessions_url.strip():
                raise UsageError("--sessions-url needs a URL: s3://BUCKET/PREFIX, or file:///ABSOLUTE/PATH")
            sessions_url = check_url(sessions_url)  # no secrets, a valid bucket name, no relative path
            check_scheme(sessions_url)
        if directory is None and (st.home or os.environ.get(ENV_HOME)):
            ws = resolve_home(st.home)  # --home or DREAMCLI_HOME: set up the home every command will use
        else:
            base = user_path((directory or Path.cwd()).expanduser(), "DIRECTORY", recorded=True)
            if base.exists() and not base.is_dir():
                raise UsageError(f"{base} is a file, not a directory")
            ws = Workspace(root=(base / LOCAL_DIR_NAME).absolute(), source="local")
        check_home_usable(ws.root)
        held = ws.exists() and not ws.is_empty()  # an empty folder (or a link to one) gets the layout now
        existed = held and ws.has_layout()
        adopted = held and not existed  # a folder of other files (--home DIR): a workspace is made in it
        linked = ws.root.is_symlink()
        tightened = _tighten(ws.root) if ws.exists() else None
        try:
            ws.ensure_layout()
            configured = ws.config_path.exists()
            if not configured:
                atomic_write_text(ws.config_path, CONFIG_TEMPLATE + ("playbooks:\n  git: true\n" if git else "")
                                  + (f"sessions:\n  url: {json.dumps(sessions_url)}\n" if sessions_url else ""))
        except OSError as e:  # a folder of the user's that cannot be written in: exit 2, one line (74: the disk)
            raise output_error(e, ws.root, "workspace", doing="set it up" if existed else "create it",
                               elsewhere="another DIR") from None
        if sessions_url and configured:
            raise UsageError(f"--sessions-url: {ws.config_path} exists already; set sessions.url in it")
        if not existed:  # a new workspace gets the session index (an old one: `sessions reindex`)
            from dreamcli.workspace.live import swept

            _create_index(ws)
            swept(ws, [])  # nothing of a dead process in it yet: its first command need not sweep
        git_created = False
        if git:
            from dreamcli.gitstore import GitError, init_repo

            try:
                git_created = init_repo(ws)
            except GitError as e:
                raise UsageError(f"--git: {e}") from None
        added = 0
        if with_samples:
            from dreamcli.sessions.samples import install_samples

            added = install_samples(ws)
        _warn_missing_driver(sessions_url)
        if as_json:
            print_json({"workspace": str(ws.root), "created": not existed, "sample_sessions": added,
                        "git": git_created})
            return
        from dreamcli.ui.workspace_view import render_init

        render_init(ws.root, existed=existed, git_dir=ws.playbooks_dir if git_created else None,
                    samples=added if with_samples else None, cmd=home_prefix(ws.root))
        if linked or tightened or adopted:
            from dreamcli.ui.console import info, warn

            if adopted:  # "Created workspace", though not in a new folder: say so, and that its files are kept
                info(f"{ws.root} held files of its own and was not a workspace: it is one now, its files left "
                     "as they were")
            if linked:
                info(f"{ws.root} is a symbolic link to {ws.root.resolve()}: the workspace is there")
            if tightened:
                (warn if tightened[1] else info)(tightened[0])


def _create_index(ws: Workspace) -> None:
    """The new workspace's session index; a full or read-only disk is the machine's one line naming the index
    (exit 74, as for the layout above), not an internal error of SQLite's "database or disk is full"."""
    import sqlite3

    from dreamcli.errors import sqlite_os_error
    from dreamcli.store.index import connect, index_path

    try:
        if (db := connect(ws, create=True)) is not None:
            db.close()
    except (OSError, sqlite3.Error) as e:
        stored = e if isinstance(e, OSError) else sqlite_os_error(e, index_path(ws))
        if stored is None:  # a bug, not the machine: the CLI's internal error
            raise
        raise output_error(stored, ws.root, "workspace", doing="create it", elsewhere="another DIR") from e


def _warn_missing_driver(url: str | None) -> None:
    """The workspace is made either way; say now, not at the first dream, what its sessions.url needs."""
    from dreamcli.store.schemes import missing_driver

    missing = missing_driver(url) if url else None
    if missing is not None:
        from dreamcli.ui.console import warn

        warn(f"sessions.url {url} needs {missing[0]}, which is not installed: {missing[1]}")


def _tighten(root: Path) -> tuple[str, bool] | None:
    """Workspace directories are 0700 (docs/workspace.md): an existing root open to group or others is
    tightened, and said so: (the message, whether it is a warning: the root could not be tightened)."""
    import stat

    mode = stat.S_IMODE(root.stat().st_mode)
    if not mode & 0o077:
        return None
    try:
        os.chmod(root, 0o700)
    except OSError as e:
        return f"{root} is mode {mode:04o}, open to others, and cannot be made 0700: {e.strerror}", True
    return f"Tightened {root} from mode {mode:04o} to 0700 (a workspace is private)", False
