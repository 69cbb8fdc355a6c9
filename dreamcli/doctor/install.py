"""`doctor`'s checks of the installation: dreamcli's own version, Python, and the key dependencies against the
ranges dreamcli declares."""

from __future__ import annotations

import platform
import shlex
from functools import partial
from importlib import metadata
from pathlib import Path

import dreamcli
from dreamcli import __version__
from dreamcli.doctor.report import Check, guard
from dreamcli.versionspec import declared_ranges, normalize, spec_violation

KEY_DEPENDENCIES = ("anthropic", "typer", "rich", "pydantic", "pyyaml", "platformdirs", "filelock", "jsonschema")


def check_dreamcli() -> list[Check]:
    detail = f"{__version__} ({Path(dreamcli.__file__).resolve().parent})"
    try:
        installed: str | None = metadata.version("dreamcli")
    except metadata.PackageNotFoundError:
        installed = None
    if installed == __version__:
        return [Check("dreamcli", "ok", detail)]
    why = "package metadata not found" if installed is None else f"but the metadata says {installed}"
    return [Check("dreamcli", "warn", f"{detail}, {why}", "reinstall: pip install -e . (in the checkout)")]


def check_python() -> list[Check]:
    try:
        spec = metadata.metadata("dreamcli")["Requires-Python"] or ">=3.11"
    except metadata.PackageNotFoundError:
        spec = ">=3.11"
    version = platform.python_version()
    if spec_violation(version, spec):
        return [Check("python", "fail", f"{version} (dreamcli needs {spec})", f"use Python {spec}")]
    return [Check("python", "ok", f"{version} ({platform.python_implementation()})")]


def check_dependencies() -> list[Check]:
    try:
        ranges = declared_ranges()
    except metadata.PackageNotFoundError:
        ranges = {}
    return [c for name in KEY_DEPENDENCIES for c in guard(name, partial(check_dependency, name, ranges))]


def check_dependency(name: str, ranges: dict[str, str]) -> list[Check]:
    spec = ranges.get(normalize(name), "")
    install = f"pip install {shlex.quote(name + spec)}"
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return [Check(name, "fail", "not installed" + (f" (needs {spec})" if spec else ""), install)]
    if not spec:
        return [Check(name, "ok", f"{version} (no declared range)")]
    try:
        broken = spec_violation(version, spec)
    except ValueError:
        return [Check(name, "warn", f"{version}; cannot check it against {spec}", f"check by hand: {install}")]
    if broken is None:
        return [Check(name, "ok", f"{version} (wants {spec})")]
    if broken.startswith("<"):  # newer than dreamcli was tested with: may work
        return [Check(name, "warn", f"{version} is newer than dreamcli supports ({spec})", install)]
    return [Check(name, "fail", f"{version} does not satisfy {spec}", install)]
