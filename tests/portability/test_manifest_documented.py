"""docs/portability.md shows a bundle's manifest.json: a script written from it must find the same keys in a
real one (the docs said `options.include_sessions` where the manifest says `options.sessions`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.portability.support import cli, make_workspace

DOC = Path(__file__).resolve().parents[2] / "docs" / "portability.md"


def _documented() -> dict[str, object]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"`manifest.json` of a bundle:\n\n```json\n(.*?)```", text, re.S)
    assert block, "the manifest example moved: update this test"
    return json.loads(block.group(1).replace('"…"', '"x"'))


def test_the_documented_manifest_has_the_keys_of_a_real_one(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "src")
    out = tmp_path / "bundle"
    assert cli(ws.root, "export", "-o", str(out), "--history").exit_code == 0
    real = json.loads((out / "manifest.json").read_text())
    doc = _documented()
    assert set(doc) <= set(real), set(doc) - set(real)
    assert set(doc["options"]) == set(real["options"])  # type: ignore[arg-type]
    assert set(doc["playbooks"][0]) <= set(real["playbooks"][0])  # type: ignore[index]
