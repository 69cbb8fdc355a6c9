"""import --merge folds an incoming entry with the same text (another workspace's id for the same
lesson) into the local entry instead of adding a duplicate."""

from __future__ import annotations

from dreamcli.playbooks import parse_playbook
from dreamcli.portability.merge import merge_into

LOCAL = """---
name: default
version: 2
updated: 2026-11-20T10:00:00Z
description: local
scope: {}
---

## Tool workarounds

- [pb-local001] Convert .docx files before reading them.
  <!-- dc: helpful=2 harmful=0 sources=01KAHV3Q8J1T0B8Z6W2XK4M5R7 first=2026-11-01 last=2026-11-10 -->
"""

INCOMING = """---
name: default
version: 5
updated: 2026-11-22T10:00:00Z
description: elsewhere
scope: {}
---

## Tool workarounds

- [pb-other001] Convert  .docx files before
  reading them.
  <!-- dc: helpful=5 harmful=1 sources=01KAHV3Q8J1T0B8Z6W2XK4M5R8 first=2026-10-01 last=2026-11-21 -->
- [pb-other002] Use zgrep for gzipped logs.
  <!-- dc: helpful=1 harmful=0 sources=01KAHV3Q8J1T0B8Z6W2XK4M5R9 first=2026-11-02 last=2026-11-02 -->
"""


def test_same_text_other_id_widens_the_local_entry() -> None:
    merged, report = merge_into(parse_playbook(LOCAL), parse_playbook(INCOMING))
    ids = [e.id for e in merged.entries()]
    assert ids == ["pb-local001", "pb-other002"]  # no duplicate of the docx lesson
    assert report.added == ["pb-other002"]
    assert report.same_text == [{"id": "pb-other001", "local_id": "pb-local001"}]
    local = merged.find("pb-local001")
    assert local is not None and (local.helpful, local.harmful) == (5, 1)
    assert local.first_seen == "2026-10-01" and local.last_seen == "2026-11-21"
    assert set(local.sources) == {"01KAHV3Q8J1T0B8Z6W2XK4M5R7", "01KAHV3Q8J1T0B8Z6W2XK4M5R8"}
    assert local.text.startswith("Convert .docx files")  # the local wording is kept
