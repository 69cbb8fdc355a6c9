"""Memory tool writes seen while scanning a session (a light module: scanning workers import it,
so it must not pull in pydantic or the playbooks package). Notes written again and again become
`memory_note` candidates; when each path was last used feeds the memory store's stale-note check."""

from __future__ import annotations

from typing import Any

from dreamcli.dream.aggregates import Aggregates
from dreamcli.dream.text import excerpt
from dreamcli.words import stems

MEMORY_WRITE_KEYS = {"create": "file_text", "str_replace": "new_str", "insert": "insert_text"}


def observe_memory_write(tool_input: dict[str, Any], agg: Aggregates, *, seq: int, session_id: str, episode: str,
                         ts: str | None, taint: tuple[str, ...] = ()) -> None:
    """A memory tool call seen in a session: when the path was last used, and a note it wrote."""
    command = str(tool_input.get("command") or "")
    path = tool_input.get("path")
    if isinstance(path, str) and ts and agg.memory_touch.get(path, "") < ts:
        agg.memory_touch[path] = ts
    text_key = MEMORY_WRITE_KEYS.get(command)
    text = tool_input.get(text_key) if text_key else None
    if not isinstance(text, str) or not isinstance(path, str) or not text.strip():
        return
    text = agg.redact(text)  # whole (a note is short), before its words become a key and it is cut to excerpts
    words = stems(text)
    if len(words) < 3:
        return
    pat = agg.pattern("memory", " ".join(sorted(words))[:400], path, excerpt(text, 300))
    pat.observe(episode, session_id, ts, {"session_id": session_id, "seq": seq, "excerpt": excerpt(f"{path}: {text}")})
    pat.provenance(taint)
    pat.example(path)
