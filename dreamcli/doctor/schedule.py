"""`doctor`'s check of this workspace's nightly dream (`dreamcli schedule install`): a line only when one is
installed, a WARN when an earlier dreamcli installed it (no `--timestamps`, say) with the command that refreshes it.
Read only: the crontab is the user's, and doctor never rewrites it."""

from __future__ import annotations

import contextlib
import shutil

from dreamcli.doctor.report import Check
from dreamcli.errors import DreamError
from dreamcli.workspace import schedule as sch
from dreamcli.workspace.home import Workspace


def check_schedule(ws: Workspace) -> list[Check]:
    plan = sch.plan_for(ws)
    line = None
    if shutil.which("crontab"):
        with contextlib.suppress(DreamError):  # a crontab this user may not read holds no line of ours
            line = sch.find_line(sch.read_crontab(), plan)
    units = sch.installed_systemd(plan)
    if line is None and not units:
        return []  # nothing scheduled here: nothing to say
    home = str(ws.root) if ws.source == "option" else None
    if stale := sch.outdated(plan, line):
        return [Check("schedule", "warn", "; ".join(s.problem() for s in stale),
                      "; ".join(f"{s.refresh(home)} refreshes it" for s in stale))]
    at = sch.cron_at(line) if line is not None else sch.systemd_at(plan)
    how = " and ".join(w for w, on in (("a crontab line", line is not None), ("a systemd timer", bool(units))) if on)
    return [Check("schedule", "ok", f"nightly dream{' at ' + at if at else ''} ({how}), as install writes it now")]
