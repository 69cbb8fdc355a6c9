"""Version ranges in the simple `>=X,<Y` form package metadata uses (no `packaging` dependency): which
clause a version breaks, and the ranges of dreamcli's runtime dependencies (for `dreamcli doctor`)."""

from __future__ import annotations

import operator
import re
from importlib import metadata

_REQ_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?([^;)]*)\)?\s*(?:;(.*))?$")
_CLAUSE_RE = re.compile(r"^(==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)$")
_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _release(version: str) -> tuple[int, ...]:
    m = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(x) for x in m.group(0).split(".")) if m else ()


def spec_violation(version: str, spec: str) -> str | None:
    """The first clause of `spec` that `version` breaks, or None. ValueError for a form not handled."""
    have = _release(version)
    for clause in (c.strip() for c in spec.split(",") if c.strip()):
        m = _CLAUSE_RE.match(clause)
        if not m or not have:
            raise ValueError(f"cannot compare {version!r} with {clause!r}")
        want = _release(m.group(2))
        n = max(len(have), len(want))  # 3.11 == 3.11.0
        if not _OPS[m.group(1)](have + (0,) * (n - len(have)), want + (0,) * (n - len(want))):
            return clause
    return None


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_ranges() -> dict[str, str]:
    """Version ranges of dreamcli's runtime dependencies (lower bound first), from the installed metadata."""
    out: dict[str, str] = {}
    for req in metadata.requires("dreamcli") or []:
        m = _REQ_RE.match(req)
        if m and not (m.group(3) or "").strip():  # skip extras / environment-marker requirements
            clauses = sorted((c.strip() for c in m.group(2).split(",") if c.strip()), key=lambda c: c[0] != ">")
            out[normalize(m.group(1))] = ",".join(clauses)
    return out
