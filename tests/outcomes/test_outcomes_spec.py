"""Outcome specs: YAML and markdown rubric forms, every sample validates, errors name file/line/field."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamcli.errors import InputError
from dreamcli.outcomes.spec import load_spec
from tests.support.outcomes import GRADER_SPEC, write_spec
from tests.support.paths import REPO

ROOT = REPO
SAMPLES = sorted((ROOT / "sample_outcomes").glob("*.yaml")) + sorted((ROOT / "sample_outcomes").glob("*.md"))


def test_there_are_samples() -> None:
    assert any(p.suffix == ".yaml" for p in SAMPLES) and any(p.suffix == ".md" for p in SAMPLES)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_outcome_validates(path: Path) -> None:
    spec = load_spec(path)
    assert spec.name and spec.criteria
    assert len({c.id for c in spec.criteria}) == len(spec.criteria)
    assert 1 <= spec.max_iterations <= 20 and 0 <= spec.pass_threshold <= 1
    for c in spec.criteria:
        if c.check is not None and c.check.type == "json_schema":
            assert isinstance(c.check.resolved_schema, dict)  # a path is resolved next to the spec
    assert spec.spec_hash.startswith("sha256:")


def test_yaml_defaults_and_kinds(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path / "s.yaml", GRADER_SPEC))
    assert [c.kind for c in spec.criteria] == ["grader", "grader", "check"]
    assert spec.criteria[0].weight == 2 and spec.criteria[1].weight == 1
    assert spec.max_iterations == 3 and spec.pass_threshold == 0.75 and spec.grader is None
    assert spec.criteria[2].check is not None and spec.criteria[2].check.in_ == "summary.md"
    assert spec.named_paths() == ["summary.md"]


def test_hash_changes_with_content_only(tmp_path: Path) -> None:
    a = load_spec(write_spec(tmp_path / "a.yaml", GRADER_SPEC))
    b = load_spec(write_spec(tmp_path / "b.yaml", "# a comment\n" + GRADER_SPEC))
    c = load_spec(write_spec(tmp_path / "c.yaml", GRADER_SPEC.replace("0.75", "0.8")))
    assert a.spec_hash == b.spec_hash != c.spec_hash


def _error(tmp_path: Path, text: str, name: str = "bad.yaml") -> InputError:
    path = write_spec(tmp_path / name, text)
    with pytest.raises(InputError) as info:
        load_spec(path)
    assert str(path) in str(info.value)
    return info.value


BAD = [
    # (spec text, line, field, words in the message)
    ("name: x\ncriteria:\n  - id: a\n    description: d\n    wieght: 2\n", 5, "criteria.0.wieght", "unknown key"),
    ("name: x\ncriteria:\n  - id: a\n    check: {type: containz, value: v}\n", 4, "criteria.0.check.type", "contains"),
    ("name: x\ncriteria:\n  - id: a\n    check: {type: regex, value: '(unclosed'}\n", 4, "criteria.0.check.value",
     "regular expression"),
    ("name: x\ncriteria:\n  - id: a\n    description: d\n  - id: a\n    description: e\n", 5, "criteria.1.id",
     "duplicate"),
    ("name: x\ncriteria:\n  - id: a\n", 3, "criteria.0", "description"),
    ("name: x\nmax_iterations: 21\ncriteria:\n  - id: a\n    description: d\n", 2, "max_iterations", "20"),
    ("name: x\npass_threshold: 1.5\ncriteria:\n  - id: a\n    description: d\n", 2, "pass_threshold", "1"),
    ("name: x\ncriteria:\n  - id: a\n    check: {type: contains, in: /etc/passwd, value: root}\n", 4,
     "criteria.0.check.in", "absolute"),
    ("name: x\ncriteria:\n  - id: a\n    check: {type: contains, in: ../../x, value: root}\n", 4,
     "criteria.0.check.in", "leaves"),
    ("name: x\ncriteria:\n  - id: a\n    check: {type: command}\n", 4, "criteria.0.check.run", "run"),
    ("name: x\ncriteria:\n  - id: a\n    check: {type: max_turns, value: many}\n", 4, "criteria.0.check.value",
     "whole number"),
    ("name: x\ncriteria:\n  - id: a\n    check: {type: file_exists}\n", 4, "criteria.0.check.in", "path"),
    ("name: x\ncriteria:\n  - id: a\n    check: {type: json_schema, in: a.json, value: missing.json}\n", 4,
     "criteria.0.check.value", "not found"),
    ("name: x\ncriteria:\n  - id: a\n    check:\n      type: json_schema\n      in: a.json\n      value: {type: 7}\n",
     7, "criteria.0.check.value", "invalid JSON Schema"),
    ("name: x\ncriteria:\n  - id: a\n    weight: 0\n    description: d\n", 4, "criteria.0.weight", "greater"),
    ("name: x\ncriteria: []\n", 2, "criteria", "at least 1"),
    ("name: x\nexamples:\n  - {label: fine, output: o}\ncriteria:\n  - {id: a, description: d}\n", 3,
     "examples.0.label", "good"),
    ("criteria:\n  - {id: a, description: d}\n", None, "name", "required"),
    # an id goes to the grader as it is: a token there would leak (its rubric line is redacted)
    ("name: x\ncriteria:\n  - id: ghp_R4nd0mT0k3nV4lu3Xy12Ab34Cd56Ef78Gh90\n    description: works\n", 3,
     "criteria.0.id", "looks like a secret"),
]


@pytest.mark.parametrize(("text", "line", "field", "words"), BAD, ids=[b[2] + ":" + b[3] for b in BAD])
def test_invalid_specs_name_file_line_field(tmp_path: Path, text: str, line: int | None, field: str,
                                            words: str) -> None:
    err = _error(tmp_path, text)
    assert "ghp_" not in str(err)  # the secret is not echoed
    assert err.field == field
    if line is not None:
        assert err.line == line
    assert words.lower() in str(err).lower()


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    err = _error(tmp_path, "name: x\ncriteria:\n  - id: [unclosed\n")
    assert err.line is not None and err.line >= 3


def test_missing_file_and_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_spec(tmp_path / "nope.yaml")
    assert "mapping" in str(_error(tmp_path, "- just\n- a list\n"))


def test_inline_schema_and_schema_path_next_to_spec(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "s.json").write_text('{"type": "object", "required": ["a"]}')
    spec = load_spec(write_spec(tmp_path / "s.yaml", """
        name: x
        criteria:
          - id: by-path
            check: {type: json_schema, in: out.json, value: schemas/s.json}
          - id: inline
            check: {type: json_schema, in: out.json, value: {type: array}}
        """))
    assert spec.criteria[0].check.resolved_schema == {"type": "object", "required": ["a"]}  # type: ignore[union-attr]
    assert spec.criteria[1].check.resolved_schema == {"type": "array"}  # type: ignore[union-attr]


# --- markdown rubric ----------------------------------------------------------------------------

RUBRIC = """# contract-review

The summary lists every termination clause
with its section number.

Another paragraph that is not the description.

- Every clause is cited by its section number (weight 2)
- No legal advice is given,
  not even a hint
- Every clause is cited by its section number too
"""


def test_markdown_rubric(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path / "r.md", RUBRIC))
    assert spec.name == "contract-review"
    assert spec.description == "The summary lists every termination clause with its section number."
    assert [c.weight for c in spec.criteria] == [2, 1, 1]
    assert spec.criteria[1].description == "No legal advice is given, not even a hint"
    assert all(c.kind == "grader" for c in spec.criteria)
    assert spec.criteria[0].id == "every-clause-is-cited-by-its"
    assert spec.criteria[2].id == "every-clause-is-cited-by-its-2"  # ids stay unique
    assert spec.pass_threshold == 1.0 and spec.max_iterations == 3


@pytest.mark.parametrize(("text", "line", "field"), [
    ("no title here\n- a bullet\n", 1, "name"),
    ("# title\n\nJust a description.\n", 1, "criteria"),
    ("# title\n\n- ok\n- fine (weight 0)\n", 4, "criteria.1.weight"),
    ("", 1, "name"),
])
def test_markdown_rubric_errors(tmp_path: Path, text: str, line: int, field: str) -> None:
    err = _error(tmp_path, text, "r.md")
    assert (err.line, err.field) == (line, field)
