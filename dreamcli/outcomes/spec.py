"""Outcome specs (docs/outcomes.md, "Specs"): YAML, or a plain markdown rubric. Invalid specs are refused with the
file, line and field at fault (InputError, exit 2).

    spec = load_spec(Path("sample_outcomes/contract-review.yaml"))
    spec.criteria[0].kind        # "grader" (judged by the model) or "check" (deterministic)
    spec.spec_hash               # "sha256:..." over the validated content (schemas resolved)
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from dreamcli.errors import InputError
from dreamcli.outcomes.check_types import CHECK_KINDS, NO_TARGET
from dreamcli.yamlio import LocatedYaml, load_yaml_file, read_text_file, validation_error

MAX_ITERATIONS_LIMIT = 20
MAX_WEIGHT = 1_000_000  # weights are relative: a bound keeps every sum of them finite
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


class _Strict(BaseModel):
    # strict like the task file: no "yes" for a boolean, no "2" for a number (an int is a number)
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


class Check(_Strict):
    """A deterministic check. `in` is `answer` (the final assistant text) or a workdir-relative path."""

    # check_types.CHECK_TYPES, spelled out for pydantic and mypy (a test keeps the two the same)
    type: Literal[
        "contains", "regex", "file_exists", "json_schema", "command", "max_turns", "max_cost_usd", "max_tool_errors"
    ]
    in_: str = Field(default="answer", alias="in", min_length=1)
    value: Any = None
    negate: bool = False
    run: str | None = None
    timeout: float = Field(default=120, gt=0, le=3600, allow_inf_nan=False)
    # the JSON Schema a json_schema check validates against (value, or the file it names), resolved at load
    _schema: dict[str, Any] | None = PrivateAttr(default=None)

    @property
    def resolved_schema(self) -> dict[str, Any] | None:
        return self._schema

    @property
    def target_is_answer(self) -> bool:
        return self.in_ == "answer"


class Criterion(_Strict):
    id: str
    description: str | None = None
    check: Check | None = None
    weight: float = Field(default=1.0, gt=0, le=MAX_WEIGHT, allow_inf_nan=False)

    @property
    def kind(self) -> str:
        """"check" when a deterministic check decides it, "grader" when the grader model judges it."""
        return "check" if self.check is not None else "grader"


class Example(_Strict):
    label: Literal["good", "bad"]
    output: str
    why: str | None = None


class OutcomeSpec(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    criteria: list[Criterion] = Field(min_length=1)
    examples: list[Example] = Field(default_factory=list)
    pass_threshold: float = Field(default=1.0, ge=0, le=1, allow_inf_nan=False)
    max_iterations: int = Field(default=3, ge=1, le=MAX_ITERATIONS_LIMIT)
    grader: str | None = None

    _source: str = PrivateAttr(default="")
    _hash: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        """The file the spec was loaded from."""
        return self._source

    @property
    def spec_hash(self) -> str:
        if not self._hash:
            self._hash = _hash_spec(self)
        return self._hash

    @property
    def grader_criteria(self) -> list[Criterion]:
        return [c for c in self.criteria if c.kind == "grader"]

    @property
    def check_criteria(self) -> list[Criterion]:
        return [c for c in self.criteria if c.kind == "check"]

    def named_paths(self) -> list[str]:
        """Workdir paths the checks read (shown to the grader as evidence when they exist)."""
        seen: list[str] = []
        for c in self.criteria:
            if c.check is not None and not c.check.target_is_answer and c.check.in_ not in seen:
                seen.append(c.check.in_)
        return seen


def _hash_spec(spec: OutcomeSpec) -> str:
    data = spec.model_dump(mode="json", by_alias=True)
    for c, crit in zip(data["criteria"], spec.criteria, strict=True):
        if crit.check is not None and crit.check.resolved_schema is not None:
            c["check"]["resolved_schema"] = crit.check.resolved_schema
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


# --- loading ------------------------------------------------------------------------------------


def load_spec(path: Path | str) -> OutcomeSpec:
    """A validated spec from a YAML file or a markdown rubric (`.md`/`.markdown`)."""
    path = Path(path)
    if path.suffix.lower() in (".md", ".markdown"):
        from dreamcli.outcomes.rubric_md import parse_markdown_rubric

        text = read_text_file(path, what="a markdown rubric")
        data, lines = parse_markdown_rubric(text, str(path))
        doc = LocatedYaml(data, lines, str(path))
    else:
        doc = load_yaml_file(path)
    return spec_from_doc(doc, base_dir=path.parent)


def spec_from_doc(doc: LocatedYaml, *, base_dir: Path) -> OutcomeSpec:
    if not isinstance(doc.data, dict):
        raise InputError("an outcome spec must be a mapping with name and criteria", file=doc.file, line=1)
    try:
        spec = OutcomeSpec.model_validate(doc.data)
    except ValidationError as err:
        raise validation_error(err, doc) from None
    _check_semantics(spec, doc, base_dir)
    spec._source = doc.file
    return spec


def _fail(doc: LocatedYaml, loc: tuple[Any, ...], message: str) -> InputError:
    return InputError(message, file=doc.file, line=doc.line_of(loc), field=".".join(str(p) for p in loc))


def _check_semantics(spec: OutcomeSpec, doc: LocatedYaml, base_dir: Path) -> None:
    seen: set[str] = set()
    for i, c in enumerate(spec.criteria):
        loc: tuple[Any, ...] = ("criteria", i)
        if not _ID_RE.fullmatch(c.id):
            raise _fail(doc, (*loc, "id"),
                        "use ASCII letters (a-z, A-Z), digits, '-', '_' or '.' (at most 80 characters)")
        if _looks_secret(c.id):  # ids go to the grader as they are (its verdicts name them): never a secret
            raise _fail(doc, (*loc, "id"), "looks like a secret (a token or key): name the criterion in words")
        if c.id in seen:
            raise _fail(doc, (*loc, "id"), f"duplicate criterion id {c.id!r}")
        seen.add(c.id)
        if c.check is None and not (c.description or "").strip():
            raise _fail(doc, loc, "a criterion needs a description (judged by the grader) or a check")
        if c.check is not None:
            _check_check(c.check, doc, (*loc, "check"), base_dir)
    if spec.grader is not None and not spec.grader.strip():
        raise _fail(doc, ("grader",), "empty model id")


def _looks_secret(text: str) -> bool:
    from dreamcli.redaction import default_redactor

    return default_redactor().redact_text(text) != text


def _check_check(check: Check, doc: LocatedYaml, loc: tuple[Any, ...], base_dir: Path) -> None:
    t = check.type
    raw = doc.data
    for p in loc:
        raw = raw[p] if isinstance(raw, dict | list) else {}
    given = set(raw) if isinstance(raw, dict) else set()
    if CHECK_KINDS[t] != "command":
        for key in ("run", "timeout"):
            if key in given:
                raise _fail(doc, (*loc, key), f"only command checks take {key!r}")
    if t in NO_TARGET and "in" in given:
        raise _fail(doc, (*loc, "in"), f"{t} checks do not read an answer or a file")
    if CHECK_KINDS[t] == "file" and check.target_is_answer:
        raise _fail(doc, (*loc, "in"), f"{t} needs `in:` set to a path in the workdir")
    for key, text in (("in", check.in_), ("run", check.run or "")):
        if "\0" in text:
            raise _fail(doc, (*loc, key), "holds a NUL byte (no path or command can)")
    if not check.target_is_answer:
        _check_relative_path(check.in_, doc, (*loc, "in"))
    if t in ("contains", "regex"):
        if not isinstance(check.value, str) or not check.value:
            raise _fail(doc, (*loc, "value"), f"{t} checks need a non-empty string value")
        if t == "regex":
            try:
                re.compile(check.value)
            except re.error as e:
                raise _fail(doc, (*loc, "value"), f"invalid regular expression: {e}") from None
    elif t == "file_exists":
        if check.value is not None:
            raise _fail(doc, (*loc, "value"), "file_exists takes no value")
    elif t == "json_schema":
        check._schema = _load_schema(check.value, doc, (*loc, "value"), base_dir)
    elif t == "command":
        if not isinstance(check.run, str) or not check.run.strip():
            raise _fail(doc, (*loc, "run"), "command checks need `run:` (a shell command)")
        if check.value is not None:
            raise _fail(doc, (*loc, "value"), "command checks take `run:`, not `value:`")
    elif t in ("max_turns", "max_tool_errors"):
        if isinstance(check.value, bool) or not isinstance(check.value, int) or check.value < 0:
            raise _fail(doc, (*loc, "value"), f"{t} needs a whole number >= 0")
    elif t == "max_cost_usd" and (
        isinstance(check.value, bool) or not isinstance(check.value, int | float) or check.value < 0
        or (isinstance(check.value, float) and not math.isfinite(check.value))
    ):
        raise _fail(doc, (*loc, "value"), "max_cost_usd needs a finite number >= 0 (US dollars)")


def _check_relative_path(value: str, doc: LocatedYaml, loc: tuple[Any, ...]) -> None:
    p = PurePosixPath(value.replace("\\", "/"))
    if p.is_absolute() or re.match(r"^[A-Za-z]:", value):
        raise _fail(doc, loc, "use `answer` or a path relative to the session's workdir, not an absolute path")
    depth = 0
    for part in p.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            raise _fail(doc, loc, "the path leaves the session's workdir")


def _load_schema(value: Any, doc: LocatedYaml, loc: tuple[Any, ...], base_dir: Path) -> dict[str, Any]:
    from jsonschema import SchemaError
    from jsonschema.validators import validator_for

    if isinstance(value, str) and value.strip():
        if "\0" in value:
            raise _fail(doc, loc, "the schema file's path holds a NUL byte")
        schema_path = Path(value)
        if not schema_path.is_absolute():
            schema_path = base_dir / schema_path
        try:
            schema = json.loads(read_text_file(schema_path, what="a JSON Schema file"))
        except InputError as e:
            raise _fail(doc, loc, f"schema file: {e}") from None
        except (ValueError, RecursionError) as e:
            raise _fail(doc, loc, f"schema file {schema_path} is not valid JSON: {e}") from None
    elif isinstance(value, dict):
        schema = value
    else:
        raise _fail(doc, loc, "json_schema needs a schema (a mapping) or the path of a schema file")
    if not isinstance(schema, dict):
        raise _fail(doc, loc, "a JSON Schema must be an object")
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as e:
        raise _fail(doc, loc, f"invalid JSON Schema: {e.message}") from None
    except RecursionError:
        raise _fail(doc, loc, "invalid JSON Schema: nested too deeply") from None
    problem = _ref_problem(schema)
    if problem:
        raise _fail(doc, loc, f"invalid JSON Schema: {problem}")
    return schema


# Keywords whose subschemas apply to the same instance (a `$ref` cycle through them never ends) and
# keywords whose values are data, not schemas.
_IN_PLACE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")
_DATA = ("const", "enum", "default", "examples")
_REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")


def _ref_problem(schema: dict[str, Any]) -> str | None:
    """Why the schema's references cannot be applied at grading time, or None. Only references inside
    the schema itself ('#' or '#/json/pointer') that resolve, and no cycle of references that never
    reads into the instance (it would recurse forever); nothing is ever fetched (http://, file://)."""
    refs: list[str] = []
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in _REF_KEYS:
                    refs.append(value if isinstance(value, str) else repr(value))
                elif key not in _DATA:
                    stack.append(value)
    for ref in refs:
        if not ref.startswith("#"):
            return f"$ref {ref[:80]!r}: only references inside the schema ('#/…'), never a file or a URL"
        if _pointer(schema, ref) is None:
            return f"$ref {ref[:80]!r} does not resolve inside the schema"
    for ref in dict.fromkeys(refs):
        seen: set[str] = set()
        todo = [ref]
        while todo:
            r = todo.pop()
            if r in seen:
                if r == ref:
                    return f"$ref {ref[:80]!r} refers back to itself without reading into the data"
                continue
            seen.add(r)
            todo.extend(_in_place_refs(_pointer(schema, r)))
    return None


def _pointer(schema: Any, ref: str) -> Any:
    from urllib.parse import unquote

    node = schema
    if ref in ("#", "#/"):
        return node
    if not ref.startswith("#/"):
        return None
    for part in ref[2:].split("/"):
        part = unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node if isinstance(node, dict | bool) else None


def _in_place_refs(node: Any) -> list[str]:
    """The references a schema applies to its own instance (directly or through allOf, not, if …)."""
    out: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, list):
            stack.extend(n)
        elif isinstance(n, dict):
            out.extend(v for k, v in n.items() if k in _REF_KEYS and isinstance(v, str))
            for key in _IN_PLACE:
                sub = n.get(key)
                stack.extend(sub.values() if key == "dependentSchemas" and isinstance(sub, dict) else [sub])
    return out
