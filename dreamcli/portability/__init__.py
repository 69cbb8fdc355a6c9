"""Portability: approved playbooks out of the workspace (bundle, json, claude-md, agents-md,
memory-dir) and bundles back in (verified, staged, swapped under the playbooks lock, audited)."""

from dreamcli.portability.export import FORMATS, ExportResult, export_playbooks
from dreamcli.portability.importer import MODES, BundleImport, import_bundle

__all__ = ["FORMATS", "MODES", "BundleImport", "ExportResult", "export_playbooks", "import_bundle"]
