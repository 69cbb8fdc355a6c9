"""`dreamcli doctor` checks: the installation, the workspace and its disk, the model settings and the agent tools.

Pure core: every check returns typed `Check` results (no printing, no Typer, no Rich). An exception
inside a check becomes a `fail` result with its one-line error (the exception is kept on `error`
for `--debug`). Nothing here prints, sends or stores a credential: only whether one is set.

The checks live by what they look at: `install` (dreamcli, Python, dependencies), `home` (the workspace:
permissions, state files, config, sessions store), `disk` (free space and a probe write), `schedule` (the
nightly dream), `endpoint` (the model endpoint and the credentials); the agent tools and `run_checks`, which
orders them, are here. Their public names are importable from `dreamcli.doctor`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dreamcli import modelreach
from dreamcli.doctor.disk import check_disk
from dreamcli.doctor.endpoint import ENDPOINT_TIMEOUT_S, check_credentials, check_endpoint
from dreamcli.doctor.home import (
    check_config,
    check_permissions,
    check_sessions_url,
    check_state_files,
    check_uploads,
    check_workspace,
)
from dreamcli.doctor.install import (
    KEY_DEPENDENCIES,
    check_dependencies,
    check_dependency,
    check_dreamcli,
    check_python,
)
from dreamcli.doctor.report import DEBUG_FIX, Check, ProbeFailed, Progress, Status, guard, one_line, passed, report
from dreamcli.doctor.schedule import check_schedule
from dreamcli.store.url_text import redacted_url
from dreamcli.versionspec import declared_ranges, spec_violation
from dreamcli.workspace.home import Workspace

if TYPE_CHECKING:
    from dreamcli.agent.tools import Tool

__all__ = ["DEBUG_FIX", "ENDPOINT_TIMEOUT_S", "KEY_DEPENDENCIES", "TOOL_NAMES", "Check", "ProbeFailed", "Status",
           "check_config", "check_credentials", "check_dependencies", "check_dependency", "check_disk",
           "check_dreamcli", "check_endpoint", "check_permissions", "check_python", "check_schedule",
           "check_sessions_url", "check_state_files", "check_tool", "check_tools", "check_uploads", "check_workspace",
           "declared_ranges", "one_line", "passed", "redacted_url", "report", "run_checks", "spec_violation"]

TOOL_NAMES = ("bash", "read", "write", "edit", "glob", "grep", "memory")

# --- the agent tools: a real no-op call of each in a throwaway directory --------------------------

_NOTE = "/memories/doctor.md"
_PROBE_FIX = {"bash": "check that /bin/bash runs: /bin/bash -c 'echo ok'"}
# per tool: what its line says when it works, and its calls: (input, text the output must contain)
_PROBES: dict[str, tuple[str, tuple[tuple[dict[str, Any], str], ...]]] = {
    "bash": ("ran `echo ok`", (({"command": "echo ok", "timeout_ms": 15_000}, "ok"),)),
    "read": ("read a file", (({"file_path": "doctor.txt"}, "ok"),)),
    "write": ("wrote a file", (({"file_path": "written.txt", "content": "ok\n"}, ""),)),
    "edit": ("edited a file", (({"file_path": "edit.txt", "old_string": "ok", "new_string": "done"}, ""),)),
    "glob": ("listed files", (({"pattern": "*.txt"}, "doctor.txt"),)),
    "grep": ("searched files", (({"pattern": "ok"}, "doctor.txt"),)),
    "memory": ("created, viewed and deleted a note", (({"command": "create", "path": _NOTE, "file_text": "ok\n"}, ""),
                                                      ({"command": "view", "path": _NOTE}, "ok"),
                                                      ({"command": "delete", "path": _NOTE}, ""))),
}


def _call(tool: Tool, input: dict[str, Any], want: str) -> None:
    result = tool.execute(input)
    text = result.content if isinstance(result.content, str) else str(result.content)
    label = f"memory {input['command']}" if tool.name == "memory" else tool.name
    if result.is_error:
        first = text.strip().splitlines()[0] if text.strip() else "(no message)"
        raise ProbeFailed(f"{label}: {result.error_kind}: {first}")
    if want not in text:
        raise ProbeFailed(f"{label}: the output lacks {want!r}")


def check_tool(name: str, ws: Workspace, workdir: Path) -> list[Check]:
    """Build the tool through the public registry, make its no-op calls, check what is left on disk."""
    from dreamcli.agent.approvals import Approvals
    from dreamcli.agent.tools import ToolEnv, Toolset
    from dreamcli.config import Config
    from dreamcli.ids import new_ulid

    detail, calls = _PROBES[name]
    env = ToolEnv(ws=ws, config=Config(), workdir=workdir, session_id=new_ulid(), approvals=Approvals(yes=True))
    toolset = Toolset([name], env)
    try:
        tool = toolset.get(name)
        if tool is None:
            raise ProbeFailed(f"the toolset has no {name!r} tool")
        for input, want in calls:
            _call(tool, input, want)
    finally:
        toolset.close()
    after = {"write": (workdir / "written.txt", "ok\n"), "edit": (workdir / "edit.txt", "done\n"),
             "memory": (ws.memories_root() / "doctor.md", None)}.get(name)
    if after is not None:
        path, expected = after
        have = path.read_text() if path.exists() else None
        if have != expected:
            raise ProbeFailed(f"{name}: {path.name} is {'missing' if have is None else 'not as expected'} afterwards")
    return [Check(f"tool {name}", "ok", detail)]


def check_tools(names: Iterable[str] = TOOL_NAMES) -> list[Check]:
    """One line per tool, each exercised in a fresh temp dir (removed afterwards) with a throwaway workspace."""
    tmp = Path(tempfile.mkdtemp(prefix="dreamcli-doctor-"))
    try:
        workdir = tmp / "work"
        workdir.mkdir(mode=0o700)
        for f in ("doctor.txt", "edit.txt"):
            (workdir / f).write_text("ok\n")
        ws = Workspace(tmp / "home", "option").ensure()  # throwaway: never the user's workspace or memory
        return [c for n in names for c in guard(f"tool {n}", partial(check_tool, n, ws, workdir),
                                                probe_fix=_PROBE_FIX.get(n, "check that TMPDIR is writable"))]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_checks(home: str | None = None, *, tools: Iterable[str] = TOOL_NAMES, fix: bool = False,
               progress: Progress | None = None) -> list[Check]:
    """Every check, in report order. `home` is the --home option (None: the usual resolution). `fix` sends
    the sessions waiting to upload (the one thing doctor repairs), `progress(done, total)` told as it goes."""
    checks = [*guard("dreamcli", check_dreamcli), *guard("python", check_python),
              *guard("dependencies", check_dependencies),
              *guard("workspace", partial(check_workspace, home, fix, progress))]
    called = modelreach.reach(ENDPOINT_TIMEOUT_S)  # the one call the endpoint and credentials lines read
    return [*checks, *guard("endpoint", partial(check_endpoint, called)),
            *guard("credentials", partial(check_credentials, called)),
            *guard("tools", partial(check_tools, tools), fix="set TMPDIR to a writable directory")]
