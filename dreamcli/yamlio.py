"""YAML loading that remembers where every value came from, for precise error messages.

Loading has limits, so a hostile or broken file is a clear InputError (exit 2) and never a hang or an
internal error: at most MAX_DEPTH levels of nesting and MAX_NODES values once aliases are expanded
(a "billion laughs" alias bomb or a recursive alias is refused before anything is built), no key twice
in one mapping, and only regular files of at most MAX_FILE_BYTES (a FIFO or a device never hangs a load)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, NamedTuple

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
MAX_FILE_BYTES = 8 * 1024 * 1024


def _walk(root: Any, lines: dict[tuple[Any, ...], int], file: str, *, unique_keys: bool = False) -> None:
    """Record the line of every value path, refusing nesting deeper than MAX_DEPTH and more than
    MAX_NODES values (aliases expanded), and with `unique_keys` a key given twice in one mapping."""
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
            if unique_keys:
                _unique_keys(node, path, file)
            for key_node, value_node in reversed(node.value):
                if not isinstance(key_node, yaml.ScalarNode):
                    raise InputError("a key must be plain text", file=file, line=key_node.start_mark.line + 1)
                key = key_node.value
                lines[(*path, key)] = key_node.start_mark.line + 1
                stack.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            for i in range(len(node.value) - 1, -1, -1):
                stack.append((node.value[i], (*path, i)))


def check_limits(node: Any, file: str) -> None:
    """Refuse a composed YAML node (`yaml.compose`) nested deeper than MAX_DEPTH or holding more than
    MAX_NODES values once aliases are expanded: an InputError naming `file` and the line, raised before
    anything is constructed. For readers with a loader of their own (playbook front matter)."""
    _walk(node, {}, file)


def _unique_keys(node: Any, path: tuple[Any, ...], file: str) -> None:
    """Refuse a key given twice in one mapping (YAML would keep the last one silently)."""
    import yaml

    seen: set[str] = set()
    for key_node, _value in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        if key_node.value in seen:
            where = ".".join(str(p) for p in (*path, key_node.value))
            raise InputError(f"duplicate key {key_node.value!r} (each key once)", file=file,
                             line=key_node.start_mark.line + 1, field=where)
        seen.add(key_node.value)


def load_yaml_text(text: str, file: str) -> LocatedYaml:
    import yaml

    lines: dict[tuple[Any, ...], int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _walk(node, lines, file, unique_keys=True)
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
    return load_yaml_text(read_text_file(path, what="a YAML file"), str(path))


def _null_device() -> int | None:
    try:
        return os.stat(os.devnull).st_rdev
    except OSError:
        return None


def read_text_file(path: Path | str, *, what: str = "a text file", limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes; InputError (exit 2, naming the file)
    for anything else: missing, a directory, a FIFO or a device (opened without blocking, never read),
    too large, not UTF-8."""
    file = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError("file not found", file=file) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=file) from None
    try:  # the kind of file is checked on the descriptor, before a file object is made of it (a directory
        st = os.fstat(fd)  # makes os.fdopen raise IsADirectoryError)
        mode = st.st_mode
        if stat.S_ISREG(mode) and st.st_size > limit:
            raise InputError(f"larger than {limit // (1024 * 1024)} MiB, expected {what}", file=file)
        if stat.S_ISDIR(mode):
            raise InputError(f"is a directory, expected {what}", file=file)
        null = stat.S_ISCHR(mode) and st.st_rdev == _null_device()  # /dev/null: "no file"
        if not null and not stat.S_ISREG(mode):
            raise InputError(f"not a regular file (a FIFO or a device?), expected {what}", file=file)
    except BaseException:
        os.close(fd)
        raise
    if null:  # DREAMCLI_CONFIG=/dev/null
        os.close(fd)
        return ""
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", file=file) from None
    if len(data) > limit:
        raise InputError(f"larger than {limit // (1024 * 1024)} MiB, expected {what}", file=file)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", file=file) from None


class FirstError(NamedTuple):
    """The first error of a pydantic ValidationError, as dreamcli's one-line messages name it."""

    loc: tuple[Any, ...]
    path: str  # the dotted field path, `criteria.0.check.type`; "" for the whole document
    message: str  # pydantic's words
    error: dict[str, Any]  # the whole error (its type, ctx, input)

    def line(self, root: str = "answer") -> str:
        """`dotted.path: message`, `root` naming the whole document."""
        return f"{self.path or root}: {self.message}"


def first_error(err: Any) -> FirstError:
    """The first error of `err`, a pydantic ValidationError (taken as Any: this module imports no pydantic)."""
    first = err.errors()[0]
    loc = tuple(first.get("loc", ()))
    return FirstError(loc, ".".join(str(p) for p in loc), str(first.get("msg", "invalid value")), first)


def validation_error(err: Any, doc: LocatedYaml) -> InputError:
    """Turn the first error of a pydantic ValidationError into an InputError with file, line, field."""
    first = first_error(err)
    kind = first.error.get("type", "")
    msg = first.message
    if kind == "extra_forbidden":
        msg = "unknown key (check the spelling)"
    elif kind == "missing":
        msg = "required field is missing"
    return InputError(msg, file=doc.file, line=doc.line_of(first.loc), field=first.path or None)
