"""A cloud dream's proposal never names a memory whose path holds a secret (tester D, left by the pull fix):
`cloud memory pull` leaves such a memory out of the mirror, and the proposal built from the dream's input
and output stores listed it by path, so `playbooks diff` and the report showed the token."""

from __future__ import annotations

import hashlib

from dreamcli.cloud.dream_diff import diff_operations
from dreamcli.cloud.memory_pull import CloudMemory
from dreamcli.redaction import default_redactor

TOKEN = "ghp_" + "Zq3vK9xW2mP7rT5yL8nB4cH6jD1fG0sA9eU2"


def memory(path: str, text: str) -> CloudMemory:
    return CloudMemory(path=path, memory_id="mem_" + path.strip("/").replace("/", "_")[:8],
                       sha256=hashlib.sha256(text.encode()).hexdigest(), version_id=None, content=text)


def test_a_memory_whose_path_holds_a_secret_is_no_operation() -> None:
    secret_path = f"/notes/{TOKEN}.md"
    after = {"/notes/ok.md": memory("/notes/ok.md", "a lesson\n"), secret_path: memory(secret_path, "notes\n")}
    ops = diff_operations({}, after, "cdrm_1", default_redactor())
    assert [o.op for o in ops] == ["create"] and TOKEN not in repr(ops)
    assert ops[0].path is not None and ops[0].path.endswith("/notes/ok.md")
