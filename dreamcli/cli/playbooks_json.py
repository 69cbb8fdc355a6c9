"""The JSON of `dreamcli playbooks diff DREAM --json`: each operation with all of its evidence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def with_evidence(dream: Any, described: dict[str, Any], redact: Callable[[Any], Any]) -> None:
    """Give each operation of `described` (the dream's review data) every one of its evidence records,
    passed through `redact` (the workspace redactor's `redact_obj`: the proposal file is not trusted)."""
    by_id = {o.entry_id: o for o in dream.proposal.operations}
    for item in described["operations"]:
        item["evidence"] = [redact(evidence_json(ev)) for ev in by_id[item["entry_id"]].evidence]


def evidence_json(ev: Any) -> dict[str, Any]:
    """One evidence record as JSON. An extra field nested deeper than pydantic serialises ("Maximum
    serialization depth exceeded") becomes the marker the redactor writes for a value nested too deep,
    instead of an internal error; the other fields are kept."""
    try:
        return dict(ev.model_dump(mode="json"))
    except (ValueError, RecursionError):
        from dreamcli.redaction.redactor import TOO_DEEP

        extra = ev.model_extra or {}
        data = dict(ev.model_dump(mode="json", exclude=set(extra)))
        for key in extra:
            try:
                data.update(ev.model_dump(mode="json", include={key}))
            except (ValueError, RecursionError):
                data[key] = TOO_DEEP
        return data
