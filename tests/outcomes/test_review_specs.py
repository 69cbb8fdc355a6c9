"""Review fixes in spec loading: numbers, files that are not files, refs and NUL bytes, duplicate keys,
strict types, markdown rubrics. Each is refused at load with exit 2 (InputError), never later."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from dreamcli.errors import EXIT_USAGE, InputError
from dreamcli.outcomes.checks import CriterionResult
from dreamcli.outcomes.scoring import weighted_score
from dreamcli.outcomes.spec import load_spec
from tests.support.outcomes import write_spec


def _refused(path: Path, *words: str) -> InputError:
    with pytest.raises(InputError) as info:
        load_spec(path)
    err = info.value
    assert err.exit_code == EXIT_USAGE and "\n" not in str(err) and str(path) in str(err)
    for w in words:
        assert w in str(err), str(err)
    return err


def _yaml(tmp_path: Path, body: str, name: str = "s.yaml") -> Path:
    return write_spec(tmp_path / name, "name: t\ncriteria:\n" + body)


CHECK = "    check: {type: contains, in: answer, value: the}\n"


@pytest.mark.parametrize("weight", [".inf", "-.inf", ".nan", "1e308", "1e7"])
def test_weights_must_be_finite_and_bounded(tmp_path: Path, weight: str) -> None:
    _refused(_yaml(tmp_path, f"  - id: a\n    weight: {weight}\n{CHECK}"), "weight")


def test_a_large_but_allowed_weight_scores(tmp_path: Path) -> None:
    spec = load_spec(_yaml(tmp_path, f"  - id: a\n    weight: 1000000\n{CHECK}  - id: b\n    weight: 1000000\n{CHECK}"))
    score = weighted_score([CriterionResult("a", True, "", weight=spec.criteria[0].weight),
                            CriterionResult("b", False, "", weight=spec.criteria[1].weight)])
    assert score == 0.5


@pytest.mark.parametrize("value", [".nan", ".inf"])
def test_max_cost_must_be_finite(tmp_path: Path, value: str) -> None:
    _refused(_yaml(tmp_path, f"  - id: a\n    check: {{type: max_cost_usd, value: {value}}}\n"), "max_cost_usd")


def test_markdown_weight_must_be_bounded(tmp_path: Path) -> None:
    path = write_spec(tmp_path / "r.md", "# t\n\n- Foo (weight " + "9" * 400 + ")\n- Bar\n")
    _refused(path, "weight")


def _load_in_thread(path: Path, out: list[BaseException | None]) -> None:
    try:
        load_spec(path)
        out.append(None)
    except BaseException as e:
        out.append(e)


def test_a_fifo_as_the_spec_is_refused_without_hanging(tmp_path: Path) -> None:
    for name in ("f.yaml", "f.md"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        out: list[BaseException | None] = []
        t = threading.Thread(target=_load_in_thread, args=(fifo, out), daemon=True)
        t.start()
        t.join(5)
        if t.is_alive():
            with open(fifo, "wb"):
                pass
            pytest.fail(f"loading a FIFO spec ({name}) hung")
        assert isinstance(out[0], InputError) and "regular file" in str(out[0])


def test_a_huge_spec_file_is_refused(tmp_path: Path) -> None:
    for name in ("big.yaml", "big.md"):
        path = tmp_path / name
        with open(path, "wb") as f:
            f.truncate(4 * 1024 * 1024 * 1024)  # sparse: no disk used
        _refused(path, "larger than")


def test_a_fifo_schema_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "schema.json")
    path = _yaml(tmp_path, "  - id: a\n    check: {type: json_schema, in: answer, value: schema.json}\n")
    _refused(path, "regular file")


@pytest.mark.parametrize("ref", ["http://example.invalid/s.json", "file:///etc/passwd", "#/definitions/x", "#",
                                 "other.json#/a"])
def test_schema_refs_must_resolve_inside_the_schema(tmp_path: Path, ref: str) -> None:
    path = _yaml(tmp_path, f"  - id: a\n    check: {{type: json_schema, in: answer, value: {{$ref: '{ref}'}}}}\n")
    _refused(path, "$ref")


def test_a_local_schema_ref_is_fine(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "  - id: a\n    check:\n      type: json_schema\n      in: answer\n"
                           "      value: {definitions: {x: {type: object}}, $ref: '#/definitions/x'}\n")
    assert load_spec(path).criteria[0].check is not None


@pytest.mark.parametrize("check", ['{type: contains, in: "a\\0b", value: x}', '{type: command, run: "echo \\0"}'])
def test_nul_bytes_in_paths_and_commands_are_refused(tmp_path: Path, check: str) -> None:
    _refused(_yaml(tmp_path, f"  - id: a\n    check: {check}\n"), "NUL")


def test_duplicate_keys_are_refused_with_their_line(tmp_path: Path) -> None:
    err = _refused(write_spec(tmp_path / "d.yaml", "name: t\nname: u\ncriteria:\n  - id: a\n    description: x\n"),
                   "duplicate key")
    assert err.line == 2
    err = _refused(_yaml(tmp_path, "  - id: a\n    id: b\n    description: x\n", "e.yaml"), "duplicate key")
    assert err.line == 4


@pytest.mark.parametrize("body", [
    "  - id: a\n    check: {type: contains, in: answer, value: the, negate: 'yes'}\n",
    "  - id: a\n    weight: '2'\n" + CHECK,
    "  - id: 12\n    description: x\n",
    "  - id: a\n    check: {type: command, run: 'true', timeout: '5'}\n",
])
def test_specs_are_strictly_typed(tmp_path: Path, body: str) -> None:
    _refused(_yaml(tmp_path, body))


def test_integers_are_still_accepted_where_numbers_are_expected(tmp_path: Path) -> None:
    spec = load_spec(_yaml(tmp_path, "  - id: a\n    weight: 2\n    check: {type: command, run: 'true', timeout: 5}\n"
                                     "pass_threshold: 1\n"))
    assert spec.criteria[0].weight == 2 and spec.pass_threshold == 1


def test_markdown_rubric_with_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "b.md"
    path.write_bytes("\ufeff# t\n\n- Foo\n".encode())
    spec = load_spec(path)
    assert spec.name == "t" and [c.id for c in spec.criteria] == ["foo"]


def test_markdown_rubric_ids_are_unique(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path / "d.md", "# t\n\n- Foo\n- Foo\n- Foo 2\n"))
    ids = [c.id for c in spec.criteria]
    assert len(set(ids)) == 3 and ids[0] == "foo"


def test_markdown_bullets_inside_code_fences_are_not_criteria(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path / "f.md", "# t\n\ndesc\n```\n- not a criterion\n```\n~~~\n- nor this\n~~~\n"
                                                   "- Real\n"))
    assert [c.description for c in spec.criteria] == ["Real"]
