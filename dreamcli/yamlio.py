"""YAML loading that remembers where every value came from, for precise error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamcli.errors import InputError


class LocatedYaml:
    """A parsed YAML document plus a map from value paths to 1-based line numbers."""

    def __init__(self, data: Any, lines: dict[tuple[Any, ...], int], file: str) -> None:
        self.data = data
        self.lines = lines
        self.file = file

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        """Line of the deepest known prefix of `path` (a pydantic `loc` works as-is)."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)


def _walk(node: Any, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    import yaml

    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines)


def load_yaml_text(text: str, file: str) -> LocatedYaml:
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"invalid YAML: {e.problem or e}", file=file, line=line) from None
    except yaml.YAMLError as e:
        raise InputError(f"invalid YAML: {e}", file=file) from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _walk(node, (), lines)
    return LocatedYaml(data, lines, file)


def load_yaml_file(path: Path) -> LocatedYaml:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a YAML file", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=str(path)) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=str(path)) from None
    return load_yaml_text(text, str(path))


def validation_error(err: Any, doc: LocatedYaml) -> InputError:
    """Turn the first error of a pydantic ValidationError into an InputError with file, line, field."""
    first = err.errors()[0]
    loc = tuple(first.get("loc", ()))
    field = ".".join(str(p) for p in loc) or None
    kind = first.get("type", "")
    msg = first.get("msg", "invalid value")
    if kind == "extra_forbidden":
        msg = "unknown key (check the spelling)"
    elif kind == "missing":
        msg = "required field is missing"
    return InputError(msg, file=doc.file, line=doc.line_of(loc), field=field)
