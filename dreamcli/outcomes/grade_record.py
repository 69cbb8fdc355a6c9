"""The typed boundary of grades.jsonl: a record is read only when the fields its readers use have the
types `dreamcli grade` writes (docs/grading.md), as the session reader checks each log line. The file
may come with a copied workspace or be edited by hand: a record with a list for its time or a number
for its criteria is skipped like a corrupt line instead of failing a listing or a dream."""

from __future__ import annotations

from typing import Any

_TEXT = ("outcome", "result", "grade_id", "explanation")  # a string when present (or null)

# the end of a check's reason when the session's workdir is not here (dreamcli.outcomes.checks); a grade stored
# before such checks went unjudged (a failed criterion with this reason) is no evidence either way (dream.grades)
NOT_HERE = "is not here (moved, removed, or another machine's): cannot check"


def grade_problem(rec: Any) -> str | None:
    """None when `rec` (decoded JSON) is a readable grade record; else what is wrong with it."""
    if not isinstance(rec, dict):
        return "not an object"
    sid = rec.get("session_id")
    if not isinstance(sid, str) or not sid:
        return "no session_id"
    if "ts" in rec and not isinstance(rec["ts"], str):
        return "wrong type for 'ts'"
    for name in _TEXT:
        value = rec.get(name)
        if value is not None and not isinstance(value, str):
            return f"wrong type for {name!r}"
    score = rec.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        return "wrong type for 'score'"  # NaN is a number here: readers that print it print none
    criteria = rec.get("criteria")
    if criteria is not None and (not isinstance(criteria, list) or not all(isinstance(c, dict) for c in criteria)):
        return "wrong type for 'criteria'"
    return None
