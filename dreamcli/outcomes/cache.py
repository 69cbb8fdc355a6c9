"""The grade cache: one grader trial's validated verdicts, keyed by a content hash of the session,
the evidence shown, the spec, the grader model, the prompt version and the trial number. Stored under
state/grade-cache/; errors are never cached, so a rerun retries them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from dreamcli.errors import os_error_cause
from dreamcli.outcomes.grader import PROMPT_VERSION, TrialVerdicts
from dreamcli.redaction import Redactor
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace


def cache_key(*, content_hash: str, evidence: str, spec_hash: str, model: str, trial: int) -> str:
    parts = [PROMPT_VERSION, content_hash, hashlib.sha256(evidence.encode("utf-8")).hexdigest(), spec_hash,
             model, trial]
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()


class GradeCache:
    def __init__(self, ws: Workspace, *, enabled: bool = True, redactor: Redactor | None = None) -> None:
        self.root = ws.state_dir / "grade-cache"
        self.enabled = enabled
        self.config_path = ws.config_path
        self._redactor = redactor

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str, criterion_ids: Sequence[str] | None = None) -> TrialVerdicts | None:
        """The stored trial, or None (a miss) when it is missing, unreadable, or does not hold exactly
        one verdict for each of `criterion_ids` (an edited or damaged entry)."""
        if not self.enabled:
            return None
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            trial = TrialVerdicts.from_json(data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None  # missing or unreadable: grade again
        if criterion_ids is not None and (len(data["verdicts"]) != len(criterion_ids)
                                          or set(trial.verdicts) != set(criterion_ids)):
            return None
        return trial

    def put(self, key: str, verdicts: TrialVerdicts) -> None:
        """Store a validated trial (always written, also with --no-cache, so later runs can reuse it), redacted
        with the workspace config's redactor (built-in rules and `redaction.patterns`)."""
        data = self.redactor().redact_obj(verdicts.to_json())
        atomic_write_text(self._path(key), json.dumps(data, ensure_ascii=False), fsync=False)

    def redactor(self) -> Redactor:
        if self._redactor is None:
            from dreamcli.config import workspace_redactor

            self._redactor = workspace_redactor(self.config_path)
        return self._redactor


def cache_warning(e: OSError) -> str:
    """Why a verdict was not cached: the cause and the file, as the CLI's storage line says them."""
    return (f"grade cache not written: {os_error_cause(e)}; the grader's verdicts are kept, but a later grade of "
            "the same run asks the grader again")
