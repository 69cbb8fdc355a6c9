"""Errors paired with what fixed them, as a session's calls succeed: the next call (within a few) that
served the same step with another tool or other arguments (the same working files, or the same intent
and program family, or what the agent said in between names it: `dreamcli.dream.steps`) is the
recovery (with its line, the call, as evidence); the same call passing unchanged is a flake, and
passing after the agent changed files was fixed by that change. Test runs that pass are noted too, to
tell a flaky test from a broken one."""

from __future__ import annotations

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.calls import Call, OpenError, may_serve
from dreamcli.dream.session_state import SessionState
from dreamcli.dream.steps import reason_in, serves_same_step
from dreamcli.dream.text import excerpt, generic_display, mask

RECOVERY_WINDOW = 8  # calls after a failed command in which a success serving the same step is its recovery
TARGET_WINDOW = 4  # the same for other tools (a success on the same files)
INSPECTION = frozenset({"bash:ls", "bash:pwd", "bash:file", "bash:stat", "bash:which", "bash:echo", "bash:wc",
                        "bash:find", "bash:tree", "glob", "memory"})
EDITED = "edited|"  # recovery key: the same call passed after the agent changed files


def succeeded(call: Call, st: SessionState, agg: Aggregates) -> None:
    """A call of this session succeeded: pair it with the errors still open, and note a passing test."""
    if call.label.startswith("bash:") and ("test" in call.label or (  # a tool named "bash:…" may hold a list
            isinstance(call.input, dict) and "test" in str(call.input.get("command")))):
        _passed(call, st, agg)
    if not st.open_errors or call.label in INSPECTION:
        return
    for err in list(st.open_errors):
        if call.index - err.index > (RECOVERY_WINDOW if err.call.label.startswith("bash:") else TARGET_WINDOW):
            st.open_errors.remove(err)
            continue
        pat = agg.patterns.get(err.sig)
        if call.key == err.key:  # the same call passed: unchanged, a flake; after an edit, fixed by it
            if pat is not None and not err.changed:
                flaky = agg.pattern("flaky", err.sig, pat.label, pat.template)
                flaky.observe(st.episode, st.sid, st.ts, {"session_id": st.sid, "seq": call.seq,
                                                          "excerpt": excerpt(f"{call.display}: failed, then passed "
                                                                             "unchanged")})
                flaky.example(err.test or call.display[:120])
            elif pat is not None:  # passed after files changed: the change fixed it (no tool lesson)
                pat.recover(EDITED, "edit", "", st.episode)
            st.open_errors.remove(err)
            continue
        if not (call.targets & err.targets) and (  # the same files, or else the same step (shell calls only)
                not (may_serve(err, call) or _runs_again(err, call))
                or not serves_same_step(err.call.step, call.step, err.said.lower())):
            continue
        if pat is not None:
            key = f"{call.label}|{mask(call.display)}"
            rec = pat.recoveries.get(key)  # what it already holds is not made again (most fixes recur)
            example = generic_display(call.display, err.targets) if rec is None else rec.example
            step = call.step if err.said and (rec is None or not rec.why) else None
            why = reason_in(agg.redact(err.said), step) if step is not None else ""  # redacted before it is cut
            evidence = None
            if rec is None or rec.wants_evidence(st.episode):
                evidence = {"session_id": st.sid, "seq": call.seq, "excerpt": excerpt(f"the fix: {call.display}")}
            pat.recover(key, call.label, example, st.episode, why, evidence)
        st.open_errors.remove(err)
    if st.open_errors and call.changes_files():
        for err in st.open_errors:
            err.changed = True


def _runs_again(err: OpenError, call: Call) -> bool:
    """Cheap test: a shell call whose command runs the failed program again (`… && make build`)."""
    return call.label.startswith("bash:") and err.call.label.startswith("bash:") and (
        f" {err.call.label[5:]} " in f" {call.display[:600]} ")


def _passed(call: Call, st: SessionState, agg: Aggregates) -> None:
    """A test run that passed (to tell, across sessions, a flaky test from a broken one)."""
    step = call.step
    if step is not None and step.intent == "test":
        agg.pattern("pass", f"{call.label}|{mask(call.display)}", call.label).observe(st.episode, st.sid, st.ts)
