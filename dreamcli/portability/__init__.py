"""Portability: approved playbooks out of the workspace (bundle, json, claude-md, agents-md,
memory-dir) and bundles back in (verified, staged, swapped under the playbooks lock, audited).

The names below are loaded on first use, so a command that needs one module of this package (such as
`arrivals`, for `sessions import`) does not import the export formats and the bundle importer."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dreamcli.portability.export import FORMATS, ExportResult, export_playbooks
    from dreamcli.portability.importer import MODES, BundleImport, import_bundle

_WHERE = {"FORMATS": "export", "ExportResult": "export", "export_playbooks": "export",
          "MODES": "importer", "BundleImport": "importer", "import_bundle": "importer"}

__all__ = ["FORMATS", "MODES", "BundleImport", "ExportResult", "export_playbooks", "import_bundle"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
