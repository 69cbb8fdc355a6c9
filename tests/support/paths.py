"""Where the suite finds files outside tests/: the repository (docs, sample tasks and outcomes) and the
shared sample transcripts next to it (tests that need them skip when they are absent)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _claude_code_samples() -> Path:
    beside = REPO.parent / "shared" / "samples" / "claude-code"
    return beside if beside.is_dir() else Path("/work/shared/samples/claude-code")


CLAUDE_CODE_SAMPLES = _claude_code_samples()
