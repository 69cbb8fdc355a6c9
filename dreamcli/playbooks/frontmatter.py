"""Playbook front matter: YAML without implicit timestamps, validated, re-rendered line by line."""

from __future__ import annotations

import re
from functools import cache
from pathlib import PurePath
from typing import Any

from dreamcli.errors import InputError

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
VERSION_DIGITS = 9  # a playbook version has at most this many digits: `.history/<name>/v<N>.md` names it
MAX_VERSION = 10**VERSION_DIGITS - 1


@cache
def _yaml() -> tuple[Any, Any]:
    """(loader, dumper), made on first use: a command that reads no playbook starts without PyYAML."""
    import yaml

    class _Loader(yaml.SafeLoader):
        """Safe loader that keeps `updated: 2026-11-20T10:00:00Z` a string."""

    class _Dumper(yaml.SafeDumper):
        """Safe dumper that writes timestamp-like strings plain (they load back as strings with _Loader)."""

    for cls, base in ((_Loader, yaml.SafeLoader), (_Dumper, yaml.SafeDumper)):
        cls.yaml_implicit_resolvers = {
            key: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
            for key, resolvers in base.yaml_implicit_resolvers.items()
        }
    return _Loader, _Dumper


def dump_yaml(data: dict[str, Any]) -> str:
    """Block-style top level; short lists and mappings inside it in flow style (`tags: [a, b]`)."""
    import yaml

    _Dumper = _yaml()[1]
    out = []
    for key, value in data.items():
        flow = None if isinstance(value, dict | list) else False
        out.append(yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                             width=10**6, default_flow_style=flow))
    return "".join(out)


def key_line(lines: list[str], key: str) -> int | None:
    """Index of the top-level `key:` line in the YAML lines, if any."""
    rx = re.compile(rf"^{re.escape(key)}\s*:")
    for i, line in enumerate(lines):
        if rx.match(line):
            return i
    return None


def _file_name(file: str | None) -> str | None:
    """The name a live playbook's path gives it (`playbooks/<name>.md`), else None."""
    if not file:
        return None
    path = PurePath(file)
    return path.stem if path.suffix == ".md" and path.parent.name == "playbooks" else None


def _load(text: str, *, file: str | None, first_line: int) -> Any:
    """The YAML of the front matter, within the limits of dreamcli.yamlio (nesting depth, values once
    aliases are expanded: a recursive alias or an alias bomb is an InputError naming the file and line,
    checked before anything is built). Lines count from the file's first line."""
    import yaml

    from dreamcli.yamlio import MAX_DEPTH, check_limits

    _Loader = _yaml()[0]
    padded = "\n" * (first_line - 1) + text  # so every mark is a line of the file
    try:
        node = yaml.compose(padded, Loader=_Loader)  # _Loader is a SafeLoader subclass
        if node is None:
            return None
        check_limits(node, file or "front matter")  # yamlio's limits (its loader would read `updated` as a date)
        loader = _Loader(padded)
        try:
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except RecursionError:
        raise InputError(f"front matter nested deeper than {MAX_DEPTH} levels", file=file,
                         line=first_line) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = mark.line + 1 if mark is not None else first_line
        raise InputError(f"invalid YAML in front matter: {e.problem or e}", file=file, line=line) from None
    except yaml.YAMLError as e:
        raise InputError(f"invalid YAML in front matter: {e}", file=file, line=first_line) from None


def parse_front_matter(yaml_lines: list[str], *, file: str | None, first_line: int) -> dict[str, Any]:
    """Parse and validate front matter. `first_line` is the 1-based file line of yaml_lines[0]."""
    data = _load("".join(yaml_lines), file=file, first_line=first_line)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("front matter must be a YAML mapping", file=file, line=first_line)

    def fail(key: str, reason: str) -> InputError:
        idx = key_line(yaml_lines, key)
        return InputError(reason, file=file, line=first_line + (idx or 0), field=key)

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail("name", "required: the playbook name (a non-empty string)")
    if (expected := _file_name(file)) is not None and name != expected:
        raise fail("name", f"{name!r} does not match the file name {expected}.md: a playbook's name is its file "
                           f"name; set `name: {expected}` (or rename the file)")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= MAX_VERSION:
        raise fail("version", f"required: a non-negative integer of at most {VERSION_DIGITS} digits "
                              "(its history file is named after it)")
    updated = data.get("updated")
    if updated is not None and not isinstance(updated, str):
        raise fail("updated", "must be an RFC 3339 timestamp")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise fail("description", "must be a string")
    scope = data.get("scope")
    if scope is not None and not isinstance(scope, dict):
        raise fail("scope", "must be a mapping (e.g. tasks: [...], tags: [...])")
    return data


def render_front_matter(meta: dict[str, Any], original: dict[str, Any] | None,
                        lines: list[str] | None) -> str:
    """Front matter text including both `---` lines. Unchanged keys keep their original lines; a
    changed single-line scalar is rewritten in place; anything more involved is dumped afresh."""
    if lines is None or original is None:
        return "---\n" + dump_yaml(meta) + "---\n"
    opening, yaml_lines, closing = lines[0], list(lines[1:-1]), lines[-1]
    if meta == original:
        return opening + "".join(yaml_lines) + closing
    if any(key not in meta for key in original):
        return opening + dump_yaml(meta) + closing
    for key, value in meta.items():
        if key in original and original[key] == value:
            continue
        idx = key_line(yaml_lines, key)
        fresh = dump_yaml({key: value})
        if idx is None:
            if yaml_lines and not yaml_lines[-1].endswith("\n"):
                yaml_lines[-1] += "\n"
            yaml_lines.append(fresh)
            continue
        single_line = idx + 1 >= len(yaml_lines) or not yaml_lines[idx + 1][:1].isspace()
        if not single_line or fresh.count("\n") != 1:
            return opening + dump_yaml(meta) + closing
        ending = "\r\n" if yaml_lines[idx].endswith("\r\n") else "\n"
        yaml_lines[idx] = fresh.rstrip("\n") + ending
    return opening + "".join(yaml_lines) + closing
