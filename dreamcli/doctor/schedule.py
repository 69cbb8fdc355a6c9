"""`doctor`'s check of this workspace's nightly dream (`dreamcli schedule install`): a line only when one is
installed, a WARN when an earlier dreamcli installed it (no `--timestamps`, say) with the command that refreshes it
(and what that refresh drops of the user's own edits), a WARN when the crontab line is commented out (disabled:
no marked line of the workspace runs), a WARN when `crontab -l` does not answer in time.
Read only: the crontab is the user's, and doctor never rewrites it."""

from __future__ import annotations

import shutil

from dreamcli.doctor.report import Check
from dreamcli.errors import DreamError
from dreamcli.workspace import schedule as sch
from dreamcli.workspace.home import Workspace
from dreamcli.workspace.schedule_drift import DISABLED, cron_at, disabled, enable_advice, outdated, systemd_at


def check_schedule(ws: Workspace) -> list[Check]:
    plan = sch.plan_for(ws)
    line = None
    checks: list[Check] = []
    if shutil.which("crontab"):
        try:
            line = sch.find_line(sch.read_crontab(), plan)
        except sch.NoAnswer:
            checks.append(Check("schedule", "warn", f"crontab -l did not answer in {sch.CRONTAB_TIMEOUT_S:g} s: "
                                "whether a nightly dream is installed is unknown",
                                "run `crontab -l` to see what it waits for (a user lookup: NSS, LDAP?)"))
        except DreamError:  # a crontab this user may not read holds no line of ours
            pass
    units = sch.installed_systemd(plan)
    if line is None and not units:
        return checks  # nothing scheduled here: nothing more to say
    home = str(ws.root) if ws.source == "option" else None
    stale = outdated(plan, line)
    off = [(DISABLED, enable_advice(line, home))] if line is not None and disabled(line) else []
    if said := off + [(s.problem(), s.advice(home)) for s in stale]:
        return [*checks, Check("schedule", "warn", "; ".join(p for p, _ in said), "; ".join(f for _, f in said))]
    at = cron_at(line) if line is not None else systemd_at(plan)
    how = " and ".join(w for w, on in (("a crontab line", line is not None), ("a systemd timer", bool(units))) if on)
    return [*checks, Check("schedule", "ok", f"nightly dream{' at ' + at if at else ''} ({how}): nothing "
                           "`schedule install` writes now is missing")]
