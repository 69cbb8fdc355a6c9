"""The plain markdown rubric, the simple form of an outcome spec:

    # medical-summary                       <- name
    A reviewing clinician should ...        <- first paragraph: description
    - Doses follow the latest note (weight 2)   <- each "- " bullet: a criterion judged by the grader

Bullets may continue on indented lines; an optional `(weight N)` suffix sets the weight. Criterion ids
are made from the first words of each bullet (stable while the wording is), with `-2`, `-3` … added
until each is unique. Lines inside code fences (``` or ~~~) are neither criteria nor description; a
UTF-8 byte order mark is ignored. Defaults as in YAML: pass_threshold 1.0, max_iterations 3.
"""

from __future__ import annotations

import re
from typing import Any

from dreamcli.errors import InputError

_WEIGHT_RE = re.compile(r"\s*\(\s*weight\s*[:=]?\s*([-+]?\d+(?:\.\d+)?)\s*\)\s*$", re.I)
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET_RE = re.compile(r"^-\s+(.*)$")
_FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")


def slug(text: str, *, words: int = 6, limit: int = 48) -> str:
    parts = re.findall(r"[a-z0-9]+", text.lower())[:words]
    out = "-".join(parts)[:limit].strip("-")
    return out or "criterion"


def parse_markdown_rubric(text: str, file: str) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """The spec data and a map of value paths to line numbers (for error messages)."""
    lines = text.removeprefix("\ufeff").splitlines()
    data: dict[str, Any] = {"criteria": []}
    where: dict[tuple[Any, ...], int] = {(): 1}
    name_line = None
    para: list[str] = []
    para_done = False
    bullets: list[tuple[int, list[str]]] = []
    fence: str | None = None  # the marker of the code fence we are in
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        opening = _FENCE_RE.match(line)
        if fence is not None or (opening and name_line is not None):
            if fence is None and opening:
                fence = opening.group(1)
            elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
            para_done = para_done or bool(para)
            continue
        heading = _HEADING_RE.match(line)
        if name_line is None:
            if not line.strip():
                continue
            if heading and len(heading.group(1)) == 1 and heading.group(2):
                data["name"] = heading.group(2).strip()
                name_line = n
                where[("name",)] = n
                continue
            raise InputError("a markdown rubric starts with a '# title' line (the outcome's name)",
                             file=file, line=n, field="name")
        bullet = _BULLET_RE.match(line)
        if bullet:
            para_done = True
            bullets.append((n, [bullet.group(1).strip()]))
            continue
        if bullets and line.startswith((" ", "\t")) and line.strip():
            bullets[-1][1].append(line.strip())  # continuation of the bullet above
            continue
        if heading:
            para_done = para_done or bool(para)
            continue
        if not line.strip():
            para_done = para_done or bool(para)
            continue
        if not para_done and not bullets:
            if not para:
                where[("description",)] = n
            para.append(line.strip())
    if name_line is None:
        raise InputError("empty rubric: expected a '# title' line and '- ' criteria", file=file, line=1,
                         field="name")
    data["description"] = " ".join(para)
    if not bullets:
        raise InputError("a markdown rubric needs at least one '- ' bullet (a criterion)", file=file,
                         line=name_line, field="criteria")
    where[("criteria",)] = bullets[0][0]
    used: set[str] = set()
    for i, (n, parts) in enumerate(bullets):
        body = " ".join(parts)
        criterion: dict[str, Any] = {}
        m = _WEIGHT_RE.search(body)
        if m:
            body = body[: m.start()].rstrip()
            weight = float(m.group(1))
            criterion["weight"] = int(weight) if weight.is_integer() else weight
        if not body:
            raise InputError("empty criterion", file=file, line=n, field=f"criteria.{i}.description")
        base = cid = slug(body)
        k = 1
        while cid in used:  # `Foo`, `Foo`, `Foo 2` -> foo, foo-2, foo-2-2
            k += 1
            cid = f"{base}-{k}"
        used.add(cid)
        criterion = {"id": cid, "description": body, **criterion}
        data["criteria"].append(criterion)
        for key in ("", "id", "description", "weight"):
            where[("criteria", i, key) if key else ("criteria", i)] = n
    return data, where
