"""A fix that makes a file is paired with the call that then reads it (the legal story): `read` fails on
a .doc contract, `soffice --headless --convert-to docx 'X.doc'` makes X.docx, and `pandoc -t plain X.docx`
reads its text. The entry says both steps, in order, and its evidence has both lines; a next call that
does not name the conversion's output is no step of the fix (`dreamcli.dream.chains`)."""

from __future__ import annotations

from typing import Any

import pytest

from dreamcli.config import Config
from dreamcli.dream.aggregates import Pattern, Recovery
from dreamcli.dream.calls import Call
from dreamcli.dream.chains import outputs, reads, with_fix
from dreamcli.dream.engine import DreamOptions, run_dream
from dreamcli.dream.state_schema import state_problem
from dreamcli.playbooks.proposal_model import Operation
from dreamcli.workspace.home import Workspace
from tests.dream.raw_log import RawSession

pytestmark = pytest.mark.usefixtures("no_model")

CONTRACTS = ["msa-acme", "nda-globex-2019", "lease-initech"]
CONVERT = "soffice --headless --convert-to docx 'FILE.doc'"
READ_TEXT = "pandoc -t plain FILE.docx"


def _unreadable(name: str) -> str:
    return f"read: {name}: not valid UTF-8 text (only images and PDFs are read as binary)"


def _bash(s: RawSession, command: str, output: str) -> int:
    """A successful shell call; the seq of its tool_use line (the line a fix's evidence points at)."""
    return s.call("bash", {"command": command}, output) - 2  # tool_use, tool event, tool_result


def _legal(ws: Workspace, hour: int, stem: str, follow_up: str | None) -> tuple[str, int, int | None]:
    """One contract review: `read` fails on the .doc, soffice converts it, then `follow_up` (if any)."""
    s = RawSession(ws, hour, prompt=f"Summarise {stem}.doc, citing clauses by section.")
    s.call("read", {"file_path": f"{stem}.doc"}, _unreadable(f"{stem}.doc"), error=True)
    convert = _bash(s, f"soffice --headless --convert-to docx '{stem}.doc'",
                    f"convert {stem}.doc -> {stem}.docx using filter : MS Word 2007 XML")
    read = _bash(s, follow_up.format(stem=stem), "1. DEFINITIONS\n12. TERMINATION\n12.3 Either party may ...") \
        if follow_up else None
    s.say("Section 12.3 lets either party terminate on 90 days' notice.")
    return s.end(), convert, read


def _ops(ws: Workspace) -> list[Operation]:
    result = run_dream(ws, Config(), DreamOptions(offline=True, min_support=2))
    return [op for op in result.operations if op.op == "add"]


def test_the_entry_names_the_conversion_then_the_call_that_reads_its_output(ws: Workspace) -> None:
    lines = {sid: (convert, read) for sid, convert, read in
             (_legal(ws, hour, stem, "pandoc -t plain {stem}.docx") for hour, stem in enumerate(CONTRACTS))}

    (op,) = _ops(ws)

    text = op.text or ""
    assert op.kind == "error_recovery", text
    assert (f"convert it first with `{CONVERT}`, then read the converted file with `{READ_TEXT}`; "
            "worked in 3 of 3 sessions") in text
    assert text.index("soffice --headless --convert-to docx") < text.index("pandoc -t plain")
    fixes = [e for e in op.evidence if e.excerpt.startswith("the fix")]
    assert [e.excerpt.split(":", 1)[0] for e in fixes] == ["the fix", "the fix, then"]
    convert, then = fixes
    assert convert.session_id == then.session_id and (convert.seq, then.seq) == lines[convert.session_id]
    assert "soffice --headless --convert-to docx" in convert.excerpt and "pandoc -t plain" in then.excerpt
    assert op.evidence[0].excerpt.startswith("read(") and op.evidence[0].session_id == convert.session_id
    assert op.evidence[1:3] == fixes  # right after the failure of their session, in order


@pytest.mark.parametrize("follow_up", [
    "pandoc -t plain notes-{stem}.docx",  # another document: not what the conversion made
    "cat README.txt",
    "ls -l {stem}.docx",  # only looks at it
    None,
])
def test_a_next_call_that_does_not_name_the_output_is_no_step(ws: Workspace, follow_up: str | None) -> None:
    for hour, stem in enumerate(CONTRACTS):
        _legal(ws, hour, stem, follow_up)

    (op,) = _ops(ws)

    text = op.text or ""
    assert op.kind == "error_recovery" and f"convert it first with `{CONVERT}`; worked in 3 of 3 sessions." in text
    assert "then" not in text and "pandoc" not in text
    assert [e.excerpt.split(":", 1)[0] for e in op.evidence if e.excerpt.startswith("the fix")] == ["the fix"]


def test_a_call_that_reads_the_output_too_late_is_no_step(ws: Workspace) -> None:
    for hour, stem in enumerate(CONTRACTS):
        s = RawSession(ws, hour, prompt=f"Summarise {stem}.doc.")
        s.call("read", {"file_path": f"{stem}.doc"}, _unreadable(f"{stem}.doc"), error=True)
        _bash(s, f"soffice --headless --convert-to docx '{stem}.doc'", "ok")
        for k in range(5):  # more calls than a chain waits for
            _bash(s, f"cat notes-{k}.txt", "…")
        _bash(s, f"pandoc -t plain {stem}.docx", "12. TERMINATION")
        s.end()

    (op,) = _ops(ws)

    assert f"convert it first with `{CONVERT}`; worked in 3 of 3 sessions." in (op.text or "")


def test_a_step_seen_in_one_session_of_three_is_left_out(ws: Workspace) -> None:
    for hour, stem in enumerate(CONTRACTS):
        _legal(ws, hour, stem, "pandoc -t plain {stem}.docx" if hour == 0 else "cat README.txt")

    (op,) = _ops(ws)

    assert f"convert it first with `{CONVERT}`; worked in 3 of 3 sessions." in (op.text or "")


def test_a_failed_command_gets_the_chain_in_the_same_words(ws: Workspace) -> None:
    for hour in range(3):
        s = RawSession(ws, hour, task="triage", prompt="Count the failed orders.")
        s.call("bash", {"command": "jq '.orders | length' export.json.gz"},
               "jq: error (at <stdin>:0): Cannot parse: Invalid numeric literal at line 1, column 3", error=True)
        _bash(s, "gunzip -c export.json.gz > export.json", "")
        _bash(s, "ls -l", "export.json")
        _bash(s, "jq '.orders | map(select(.status == \"failed\")) | length' export.json", "17")
        s.end()

    (op,) = _ops(ws)

    # the name the conversion's own example shows (export.json) is the name its next step shows
    assert ("run `gunzip -c FILE.json.gz > export.json` instead, then read its output with "
            "`jq '.orders | map(select(.status == \"failed\")) | length' export.json`; worked in 3 of 3 sessions"
            ) in (op.text or "")


def test_a_chain_has_at_most_three_steps_each_reading_the_one_before(ws: Workspace) -> None:
    for hour, stem in enumerate(CONTRACTS):
        s = RawSession(ws, hour, prompt=f"Summarise {stem}.doc.")
        s.call("read", {"file_path": f"{stem}.doc"}, _unreadable(f"{stem}.doc"), error=True)
        _bash(s, f"soffice --headless --convert-to docx --outdir /tmp/conv '{stem}.doc'", "ok")
        _bash(s, f"pandoc /tmp/conv/{stem}.docx -t plain -o /tmp/conv/{stem}.txt", "")
        _bash(s, f"grep -n -i 'terminat' /tmp/conv/{stem}.txt > /tmp/conv/{stem}.hits", "")
        _bash(s, f"cat /tmp/conv/{stem}.hits", "12. TERMINATION")  # a fourth step: left out
        s.end()

    (op,) = _ops(ws)

    assert ("convert it first with `soffice --headless --convert-to docx --outdir /tmp/conv 'FILE.doc'`, then "
            "`pandoc /tmp/conv/FILE.docx -t plain -o /tmp/conv/FILE.txt`, then read the converted file with "
            "`grep -n -i 'terminat' /tmp/conv/FILE.txt > /tmp/conv/FILE.hits`; worked in 3 of 3 sessions."
            ) in (op.text or ""), op.text
    assert [e.excerpt.split(":", 1)[0] for e in op.evidence] == ["read(file_path=msa-acme.doc) -> read", "the fix",
                                                                 "the fix, then", "the fix, then"]


def _call(command: str, n: int = 1) -> Call:
    return Call("bash", {"command": command}, n, n)


@pytest.mark.parametrize(("command", "made"), [
    ("soffice --headless --convert-to docx 'X.doc'", {"X.docx"}),
    ('soffice --convert-to docx:"MS Word 2007 XML" --outdir out "Master Services Agreement.doc"',
     {"out/Master Services Agreement.docx", "Master Services Agreement.docx"}),
    ("cd contracts && libreoffice --headless --convert-to=pdf a.doc 2>&1 | tail -2", {"a.pdf"}),
    ("pandoc -t plain X.docx -o X.txt", {"X.txt"}),
    ("pdftotext -layout scan.pdf - > /tmp/w/scan.txt", {"tmp/w/scan.txt", "scan.txt"}),
    ("antiword X.doc >> all.txt 2> err.log", {"all.txt"}),
    ("pdftotext a.pdf - | tee a.txt", {"a.txt"}),
    ("unzip -o X.docx -d out", {"out"}),
    ("tar -xzf logs.tar.gz -C extracted", {"extracted"}),
    # nothing derivable, or what the same command goes on to read, or no file
    ("pandoc -t plain X.docx", set()),
    ("unzip -o X.docx", set()),
    ("grep -o 'id=[0-9]*' app.log", set()),
    ("soffice --convert-to docx X.doc && pandoc -t plain X.docx", set()),
    ("make build 2>/dev/null", set()),
    ("echo 'unbalanced > out.txt", set()),
])
def test_what_a_call_makes_is_read_from_its_arguments(command: str, made: set[str]) -> None:
    assert outputs(_call(command), frozenset({"X.doc", "a.doc", "scan.pdf"})) == made


def test_what_another_tool_makes_is_its_output_argument() -> None:
    call = Call("convert_document", {"input": "X.doc", "output": "out/X.docx"}, 1, 1)
    assert outputs(call, frozenset({"X.doc"})) == {"out/X.docx", "X.docx"}


def test_a_call_reads_an_output_it_names() -> None:
    made = frozenset({"out/Master Services Agreement.docx", "Master Services Agreement.docx"})
    assert reads(_call('pandoc -t plain "out/Master Services Agreement.docx"'), made)
    assert reads(Call("read", {"file_path": "Master Services Agreement.docx"}, 1, 1), made)
    assert reads(_call("cat out/word/document.xml"), frozenset({"out"}))
    assert reads(_call("cat /tmp/w/out/word/document.xml"), frozenset({"tmp/w/out", "out"}))
    assert not reads(_call("pandoc -t plain Agreement.docx"), made)
    assert not reads(_call("rm 'Master Services Agreement.docx'"), made)
    assert not reads(Call("write", {"file_path": "Master Services Agreement.docx", "content": "x"}, 1, 1), made)


def test_a_chain_is_kept_merged_and_checked_with_the_dreams_state() -> None:
    def pattern(episode: str) -> Pattern:
        p = Pattern("error", "read|x", "read", "x")
        p.recover("bash:soffice|k", "bash:soffice", CONVERT, episode)
        p.recoveries["bash:soffice|k"].step("bash:pandoc|k", "bash:pandoc", READ_TEXT, episode,
                                            {"session_id": episode, "seq": 9, "excerpt": "the fix, then: pandoc"})
        return p

    mine, theirs = pattern("s1"), pattern("s2")
    mine.merge(theirs)
    (then,) = mine.recoveries["bash:soffice|k"].then.values()
    assert then.example == READ_TEXT and then.episodes == {"s1", "s2"} and len(then.evidence) == 2
    saved: dict[str, Any] = mine.to_json()
    assert Pattern.from_json(saved).to_json() == saved
    assert state_problem({"v": 1, "patterns": [saved]}) is None
    assert Recovery.from_json(saved["recoveries"]["bash:soffice|k"]).then["bash:pandoc|k"].episodes == {"s1", "s2"}


def test_without_a_chain_the_evidence_is_as_before() -> None:
    failures = [{"session_id": s, "seq": 4, "excerpt": f"read {s}"} for s in ("a", "b", "c")]
    fix = [{"session_id": "b", "seq": 5, "excerpt": "the fix: soffice"}]
    assert with_fix(failures, fix) == with_fix(failures, fix, []) == [failures[0], failures[1], fix[0], failures[2]]
    then = [[{"session_id": "b", "seq": 8, "excerpt": "the fix, then: pandoc"}]]
    assert with_fix(failures, fix, then) == [failures[0], failures[1], fix[0], then[0][0], failures[2]]
    assert with_fix(failures, fix, [[{**then[0][0], "session_id": "c"}]])[2:4] == [fix[0], failures[2]]


_COMMANDS = [
    "unzip -p msa.docx word/document.xml | sed -e 's/<[^>]*>/ /g'", "make build 2>&1 | tail -5",
    "ls 2>/dev/null", "echo done >&2", "gunzip -c a.json.gz > export.json", "pandoc a.docx -o a.txt",
    "soffice --headless --convert-to docx --outdir out 'Master Services Agreement.doc'", "cat x | tee out.log",
    "echo \"a>b\" > c.txt", "unzip bundle.zip -d unpacked", "tar xzf a.tgz -C dest", "curl --output=page.html u",
    "git push -u origin main", "pytest -q tests/test_a.py", "grep -o foo a.txt", "python -m pip install -r req.txt",
]


@pytest.mark.parametrize("command", _COMMANDS)
def test_commands_not_lexed_name_no_output(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the prefilter only skips lexing: what it lets through or not, the outputs are what a full lex finds
    import re

    from dreamcli.dream import chains

    filtered = chains._made_by.__wrapped__(command)
    monkeypatch.setattr(chains, "_MAY_NAME_OUTPUT", re.compile(""))
    assert chains._made_by.__wrapped__(command) == filtered


@pytest.mark.parametrize("command", ["git add contract.txt", "scp contract.txt host:/tmp/", "cat notes/contract.txt",
                                     "rsync -a contract.txt backup/", "gh release upload v1 contract.txt"])
def test_committing_sending_or_another_folder_is_no_reading(command: str) -> None:
    made = outputs(_call("pandoc contract.doc -o contract.txt"), frozenset({"contract.doc"}))
    assert made == {"contract.txt"}
    assert not reads(_call(command), made)


@pytest.mark.parametrize("command", ["cat contract.txt", "cat ./contract.txt", "head -n 40 contract.txt"])
def test_the_output_named_as_made_is_read(command: str) -> None:
    assert reads(_call(command), frozenset({"contract.txt"}))
    assert reads(_call("cat out/contract.txt"), frozenset({"out/contract.txt", "contract.txt"}))
