"""Rendering of a playbook's trail: `dreamcli playbooks history` (kept versions), `playbooks audit` and the
result of `playbooks revert`."""

from __future__ import annotations

from typing import Any

from dreamcli.ui.console import err, info, neutralise_controls, safe_markup


def _ver(version: Any) -> str:
    return "(none)" if version is None else f"v{version}"


def _esc(text: Any) -> str:
    """Untrusted text as markup printing it as it is, on one line."""
    return safe_markup(text, one_line=True)


def _how(action: Any, hand: Any) -> str:
    """The action of a version or record, and whether it took in a hand edit of the live file (`+ hand edit`)
    or dropped one (a revert): the trail's `hand_edit`, or `hand_edited_before` of an older record."""
    how = str(action) if action else "-"
    if hand is None or hand is False:
        return how
    dropped = isinstance(hand, dict) and hand.get("carried") is False
    return f"{how}, hand edit dropped" if dropped else f"{how} + hand edit"


def render_history(name: str, versions: list[dict[str, Any]]) -> None:
    from dreamcli.ui.tables import Col, print_table

    cols = [Col("version", kind="num", justify="right"), Col("updated", priority=2),
            Col("entries", kind="num", priority=3, justify="right"), Col("by", priority=1), Col("how"),
            Col("dream", kind="id", priority=4), Col("hash", kind="id", priority=5)]
    rows = []
    for v in versions:
        mark, unset = " [green]live[/]" if v["live"] else "", "kept file missing" if v.get("missing") else "-"
        rows.append([f"v{v['version']}{mark}", _esc((v["updated"] or unset)[:19].replace("T", " ")),
                     str(v["entries"]), _esc(v.get("actor") or "-"), _esc(_how(v.get("action"), v.get("hand_edit"))),
                     _esc(v.get("dream_id") or "-"), _esc((v.get("hash") or "")[7:19])])
    print_table(cols, rows)


def render_audit(records: list[dict[str, Any]]) -> None:
    """One row a record; a narrow terminal drops the entries first, then the version and the actor (ids stay whole)."""
    from dreamcli.ui.tables import Col, print_table

    if not records:
        err().print("no audit records match", style="dim")
        return
    cols = [Col("time"), Col("action"), Col("actor", priority=2), Col("playbook", priority=1),
            Col("version", priority=3), Col("dream", kind="id"), Col("entries", priority=4)]
    rows = []
    for r in records:
        v = ""
        if r.get("version_before") is not None or r.get("version_after") is not None:
            v = f"{_ver(r.get('version_before'))} → {_ver(r.get('version_after'))}"
        elif r.get("live_version") is not None:  # a review that changed no playbook: the version it saw
            v = f"at {_ver(r.get('live_version'))}"
        ids = [str(i) for i in r["entry_ids"]] if isinstance(r.get("entry_ids"), list) else []
        shown = ", ".join(ids[:4]) + (f" +{len(ids) - 4}" if len(ids) > 4 else "")
        hand = r.get("hand_edit") if isinstance(r.get("hand_edit"), dict) else r.get("hand_edited_before") is True
        rows.append([_esc(str(r.get("ts", ""))[:19].replace("T", " ")), _esc(_how(r.get("action"), hand)),
                     _esc(r.get("actor")),
                     _esc(r.get("playbook") or "-"), v, _esc(r.get("dream_id") or "-"), _esc(shown or "-")])
    print_table(cols, rows)


def render_revert(r: Any) -> None:
    """A revert (`playbooks.history.Reverted`) on stderr: the versions, then what --force let in, lint
    warnings, and whether secrets were redacted from the restored text."""
    name, version = r.playbook, r.to_version
    if r.commit is None:
        info(f"{name} already has the content of v{version}; nothing to do")
    else:
        info(f"{name}: v{r.commit.version_before} → v{r.commit.version_after} (content of v{version})")
    for label, flags in (("forced", r.vetted.blocked if r.forced else []), ("lint warning in", r.vetted.warnings)):
        for f in flags:
            info(neutralise_controls(f"{label} {name} {f.where()}: {f.reason()}", one_line=True))
    if r.vetted.secrets_redacted:
        ids = f" (entries {', '.join(r.vetted.redacted)})" if r.vetted.redacted else ""
        info(f"secrets redacted in the restored text of v{version}{ids}")
