"""Errors paired with what fixed them, as a session's calls succeed: the next call (within a few) that
served the same step with another tool or other arguments (the same working files, or the same intent
and program family, or what the agent said in between names it: `dreamcli.dream.steps`) is the
recovery (with its line, the call, as evidence); the same call passing unchanged is a flake, and
passing after the agent changed files was fixed by that change. Test runs that pass are noted too, to
tell a flaky test from a broken one. A fix that made a file (a conversion) keeps its error open for a few
calls, as a pending chain: the call that then reads that file is the fix's next step (`dreamcli.dream.chains`)."""

from __future__ import annotations

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.calls import Call, Chain, OpenError, may_serve
from dreamcli.dream.chains import CHAIN_WINDOW, MAX_PENDING, MAX_STEPS, generic, outputs, reads, same_stem
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
        if err.chain is not None:  # fixed: waiting for the call that reads what its fix made
            _follow(err, err.chain, call, st, agg)
            continue
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
            if key in pat.recoveries and (made := outputs(call, err.targets)):  # the error stays, as a chain
                err.chain = Chain((key,), made, err.targets | generic(made, pat.recoveries[key].example), call.index)
                continue
        st.open_errors.remove(err)
    if st.open_errors and call.changes_files():
        for err in st.open_errors:
            err.changed = True


def _follow(err: OpenError, chain: Chain, call: Call, st: SessionState, agg: Aggregates) -> None:
    """A success while a fix's chain waits: the call that reads what the last step made is the next step
    (recorded under it, with its line); the chain ends there, unless that call made a file too and there is
    room for one more step, or when no such call came within `CHAIN_WINDOW` calls."""
    if call.index - chain.index > CHAIN_WINDOW:
        st.open_errors.remove(err)
        return
    pat = agg.patterns.get(err.sig)
    node = pat.recoveries.get(chain.path[0]) if pat is not None else None
    for key in chain.path[1:]:
        node = node.then.get(key) if node is not None else None
    if node is None:
        st.open_errors.remove(err)
        return
    if not reads(call, chain.made):
        return
    key = f"{call.label}|{mask(call.display)}"
    if key in chain.path:  # the same call again: no step further
        return
    nxt = node.then.get(key)
    evidence = None
    if nxt is None or nxt.wants_evidence(st.episode):
        evidence = {"session_id": st.sid, "seq": call.seq, "excerpt": excerpt(f"the fix, then: {call.display}")}
    made = outputs(call, chain.names | chain.made)
    example = nxt.example if nxt is not None else generic_display(call.display, chain.names | same_stem(
        made, chain.names))
    nxt = node.step(key, call.label, example, st.episode, evidence)
    if not made or nxt is None or len(chain.path) + 1 >= MAX_STEPS:
        st.open_errors.remove(err)
        return
    err.chain = Chain((*chain.path, key), made, chain.names | generic(made, nxt.example), call.index)


def still_open(errors: list[OpenError], sig: str) -> list[OpenError]:
    """The errors kept open when another call fails with `sig`: the last three others, as ever, and the
    newest fixed ones whose chain waits for the call that reads what their fix made."""
    waiting = [e for e in errors if e.chain is not None]
    if not waiting:
        return [e for e in errors if e.sig != sig][-3:]
    return waiting[-MAX_PENDING:] + [e for e in errors if e.chain is None and e.sig != sig][-3:]


def _runs_again(err: OpenError, call: Call) -> bool:
    """Cheap test: a shell call whose command runs the failed program again (`… && make build`)."""
    return call.label.startswith("bash:") and err.call.label.startswith("bash:") and (
        f" {err.call.label[5:]} " in f" {call.display[:600]} ")


def _passed(call: Call, st: SessionState, agg: Aggregates) -> None:
    """A test run that passed (to tell, across sessions, a flaky test from a broken one)."""
    step = call.step
    if step is not None and step.intent == "test":
        agg.pattern("pass", f"{call.label}|{mask(call.display)}", call.label).observe(st.episode, st.sid, st.ts)
