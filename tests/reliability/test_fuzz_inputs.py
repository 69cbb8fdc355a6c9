"""Issue 21: hypothesis fuzz of the three readers of untrusted text: the session-log reader, the
playbook parser and the outcome-spec loader. Whatever the input, the result is data or a DreamError
(exit 2 for files), never an internal error. Deterministic: derandomized, fixed example counts."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dreamcli.errors import DreamError
from dreamcli.outcomes.spec import spec_from_doc
from dreamcli.playbooks.format import parse_playbook
from dreamcli.sessions.reader import ReadStats, iter_events, read_first_and_last
from dreamcli.yamlio import load_yaml_text

FUZZ = settings(max_examples=150, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KEYS = ["v", "type", "ts", "session_id", "seq", "role", "content", "task", "totals", "status", "name",
        "tool_use_id", "usage", "playbooks", "tags", "outcome", "criteria", "event", "child_session_id"]
TYPES = ["session.start", "message", "tool", "outcome.evaluation", "subagent", "session.end"]
events = st.fixed_dictionaries({"v": st.sampled_from([1, 1, 1, 2, "1", True]), "type": st.sampled_from(TYPES)},
                               optional={k: json_values for k in KEYS if k not in ("v", "type")})
lines = st.one_of(events.map(lambda e: json.dumps(e).encode()), st.binary(max_size=60),
                  st.text(max_size=60).map(str.encode))


@FUZZ
@given(st.lists(lines, max_size=8), st.booleans())
def test_session_reader_never_fails(tmp_path: Path, raw: list[bytes], cut: bool) -> None:
    path = tmp_path / "01JD0Q8Z3V6M4T2N8K5R7W9XAB.jsonl"
    data = b"\n".join(r.replace(b"\n", b" ") for r in raw) + (b"" if cut else b"\n")
    path.write_bytes(data)
    stats = ReadStats()
    got = list(iter_events(path, stats))
    assert stats.events == len(got)
    read_first_and_last(path)
    from dreamcli.sessions.summary import summarize

    summarize(path)


PLAYBOOK_BITS = ["---\n", "name: x\n", "version: 1\n", "version: [1]\n", "updated: 5\n", "scope: 3\n", "## S\n",
                 "- text\n", "  <!-- dc: id=pb-aaaaaaaa -->\n", "<!-- dc: helpful=x -->\n", "&a [*a]\n", "\t\n",
                 "- \n", "description: &x {a: *x}\n"]


@FUZZ
@given(st.lists(st.sampled_from(PLAYBOOK_BITS) | st.text(max_size=30), max_size=14))
def test_playbook_parser_never_fails(bits: list[str]) -> None:
    try:
        parse_playbook("".join(bits), file="fuzz.md")
    except DreamError as e:
        assert e.exit_code == 2


SPEC_BITS = ["name: s\n", "criteria:\n", "  - id: a\n", "    description: d\n", "    check:\n", "      type: regex\n",
             "      value: '['\n", "      type: contains\n", "      value: x\n", "a: &a [x, *a]\n", "- [[[[\n",
             "  weight: -1\n", "{", "description: *nope\n", "version: 1\n", "target: answer\n"]


@FUZZ
@given(st.lists(st.sampled_from(SPEC_BITS) | st.text(max_size=20), max_size=14))
def test_spec_loader_never_fails(tmp_path: Path, bits: list[str]) -> None:
    try:
        spec_from_doc(load_yaml_text("".join(bits), "fuzz.yaml"), base_dir=tmp_path)
    except DreamError as e:
        assert e.exit_code == 2


OP_KEYS = ["entry_id", "target", "op", "section", "text", "old_text", "merged_ids", "reason", "kind", "signature",
           "support", "impact", "metadata", "evidence", "lint", "path", "merged_paths", "taint"]
GOOD_OP = {"entry_id": "pb-aaaaaa01", "op": "add", "text": "Use pandoc.", "section": "Tools"}
operation = st.builds(lambda base, extra: {**base, **extra}, st.just(GOOD_OP),
                      st.dictionaries(st.sampled_from(OP_KEYS), json_values, max_size=3))
proposals = st.fixed_dictionaries(
    {"v": st.sampled_from([1, 1, 0, 2, "1", None]), "dream_id": st.sampled_from(["D1", 5, None]),
     "playbook": st.sampled_from(["legal", "legal", "../x", 3]),
     "operations": st.lists(operation, max_size=3) | json_values},
    optional={"base_version": json_values, "budget": json_values, "lint": json_values, "memory_store": json_values})


@FUZZ
@given(proposals)
def test_proposal_model_never_fails(data: dict[str, object]) -> None:
    """What a proposal.json with wrong types gives: the typed proposal or an InputError (exit 2) naming the
    file, as `playbooks diff` then reports it (dreamcli.playbooks.proposals.UnreadableDream)."""
    from dreamcli.errors import InputError
    from dreamcli.playbooks.proposal_model import parse_proposal

    try:
        prop = parse_proposal(data, "dreams/D1/proposal.json")
    except InputError as e:
        assert e.exit_code == 2 and str(e).startswith("dreams/D1/proposal.json: ") and "\n" not in str(e)
    else:
        assert parse_proposal(prop.to_json(), "again").to_json() == prop.to_json()  # what review reads round-trips
