"""YAML loading that remembers where every value came from, for precise error messages.

Loading has limits, so a hostile or broken file is a clear InputError (exit 2) and never a hang or an
internal error: at most MAX_DEPTH levels of nesting and MAX_NODES values once aliases are expanded
(a "billion laughs" alias bomb or a recursive alias is refused before anything is built)."""

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


MAX_DEPTH = 64
MAX_NODES = 100_000


def _walk(root: Any, lines: dict[tuple[Any, ...], int], file: str) -> None:
    """Record the line of every value path, refusing nesting deeper than MAX_DEPTH and more than
    MAX_NODES values (aliases expanded)."""
    import yaml

    stack: list[tuple[Any, tuple[Any, ...]]] = [(root, ())]
    seen = 0
    while stack:
        node, path = stack.pop()
        seen += 1
        line = node.start_mark.line + 1
        if seen > MAX_NODES:
            raise InputError(f"too many values (over {MAX_NODES} once aliases are expanded: an alias bomb?)",
                             file=file, line=line)
        if len(path) > MAX_DEPTH:
            raise InputError(f"nested deeper than {MAX_DEPTH} levels (or a recursive alias)", file=file, line=line)
        lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in reversed(node.value):
                if not isinstance(key_node, yaml.ScalarNode):
                    raise InputError("a key must be plain text", file=file, line=key_node.start_mark.line + 1)
                key = key_node.value
                lines[(*path, key)] = key_node.start_mark.line + 1
                stack.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            for i in range(len(node.value) - 1, -1, -1):
                stack.append((node.value[i], (*path, i)))


def load_yaml_text(text: str, file: str) -> LocatedYaml:
    import yaml

    lines: dict[tuple[Any, ...], int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _walk(node, lines, file)
        data = yaml.safe_load(text)
    except RecursionError:
        raise InputError(f"nested deeper than {MAX_DEPTH} levels", file=file) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"invalid YAML: {e.problem or e}", file=file, line=line) from None
    except yaml.YAMLError as e:
        raise InputError(f"invalid YAML: {e}", file=file) from None
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
