"""config.yaml: models, limits, redaction patterns, policies. Every key is optional; unknown keys and
wrong types are refused with the file, line and field at fault (docs/config.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dreamcli.yamlio import load_yaml_file, validation_error

if TYPE_CHECKING:
    from dreamcli.redaction import Redactor


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelsConfig(_Strict):
    agent: str | None = None
    grader: str | None = None
    dreamer: str | None = None


class LimitsConfig(_Strict):
    max_turns: int = Field(default=50, ge=1, le=1000)
    max_tokens: int = Field(default=8192, ge=256)
    bash_timeout_s: float = Field(default=120, gt=0)
    tool_output_bytes: int = Field(default=30_000, ge=1_000)
    model_retries: int = Field(default=4, ge=0, le=20)
    request_timeout_s: float = Field(default=600, gt=0)
    concurrency: int = Field(default=4, ge=1, le=256)  # model calls in flight at once, per command
    max_subagents: int = Field(default=50, ge=1, le=10_000)  # sub-agents one lead may start, all delegate calls


class RedactionConfig(_Strict):
    patterns: list[str] = Field(default_factory=list)


class ApprovalsConfig(_Strict):
    """What tool calls run without asking: glob patterns of bash commands and of writable paths."""

    allow_commands: list[str] = Field(default_factory=list)
    allow_writes: list[str] = Field(default_factory=lambda: ["**"])


class ApprovalConfig(_Strict):
    """Policies of `playbooks approve`: `require_lift` refuses an entry whose last pilot's lift CI
    upper bound is not above 0, or that was never piloted, unless --force with --reason (docs/pilot.md)."""

    require_lift: bool = False


class LintConfig(_Strict):
    forbid_phrases: list[str] = Field(default_factory=list)
    forbid_patterns: list[str] = Field(default_factory=list)
    allowed_hosts: list[str] = Field(default_factory=list)


class DreamConfig(_Strict):
    min_support: int = Field(default=2, ge=1)
    token_budget: int = Field(default=2000, ge=100)
    max_candidates: int = Field(default=20, ge=1)
    auto_approve: bool = False


class PlaybooksConfig(_Strict):
    default: str = "default"
    reviewer: str | None = None  # who approves, when --reviewer and $DREAMCLI_ACTOR are not given
    git: bool = False  # keep playbooks/ as a git repository, one commit per change (docs/audit.md)


class AuditConfig(_Strict):
    """Signing approvals with an SSH key (`ssh-keygen -Y sign`), checked by `playbooks audit --verify`."""

    signing_key: str | None = None
    allowed_signers: str | None = None


class SessionsConfig(_Strict):
    """Where sessions are stored (docs/scaling.md): no url = the workspace's sessions/ directory; `s3://…`
    (any fsspec URL) = object storage, buffered locally and uploaded every `part_lines` lines and at the end.
    Credentials and endpoint come from the environment (AWS_PROFILE, AWS_ENDPOINT_URL, …), never from here."""

    url: str | None = None
    part_lines: int = Field(default=200, ge=1, le=1_000_000)


class Config(_Strict):
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    redaction: RedactionConfig = Field(default_factory=RedactionConfig)
    approvals: ApprovalsConfig = Field(default_factory=ApprovalsConfig)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    lint: LintConfig = Field(default_factory=LintConfig)
    dream: DreamConfig = Field(default_factory=DreamConfig)
    playbooks: PlaybooksConfig = Field(default_factory=PlaybooksConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    sessions: SessionsConfig = Field(default_factory=SessionsConfig)


def user_config_path() -> Path:
    """The user-level config under every workspace's: $DREAMCLI_CONFIG, else
    $XDG_CONFIG_HOME/dreamcli/config.yaml (~/.config/dreamcli/config.yaml)."""
    import os

    explicit = os.environ.get("DREAMCLI_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "dreamcli" / "config.yaml"


def config_layers(path: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    """(source, file, data) of each config file that exists, lowest first: the user's, then the
    workspace's. Each is validated on its own, so an error names its file and line."""
    layers = []
    user = user_config_path()
    for source, file in (("user", user), ("workspace", Path(path))):
        # the workspace's file is the user's own (a symlink to it, or DREAMCLI_CONFIG naming it): one layer,
        # the user's, whose lists need no trust (dreamcli.agent.config_trust)
        if not file.exists() or (source == "workspace" and user.exists() and file.resolve() == user.resolve()):
            continue
        doc = load_yaml_file(file)
        if doc.data is None:
            continue
        try:
            config = Config.model_validate(doc.data)
        except ValidationError as err:
            raise validation_error(err, doc) from None
        _check_patterns(config, doc)
        layers.append((source, file, doc.data))
    return layers


def merge_config_data(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`: sections merge key by key; any other value (a list too) replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_config_data(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(path: Path) -> Config:
    """The workspace's `config.yaml` over the user-level config (`user_config_path`) over the defaults;
    missing files mean defaults."""
    data: dict[str, Any] = {}
    for _, _, layer in config_layers(path):
        data = merge_config_data(data, layer)
    return Config.model_validate(data) if data else Config()


def in_effect(config: Config) -> dict[str, Any]:
    """The configuration as runs use it (`config show`): a `models.*` left unset is the built-in default
    id (dreamcli/models.py) that run, grade and dream fall back to, not null."""
    from dreamcli.models import DEFAULT_MODELS

    data = config.model_dump(mode="json")
    data["models"] = {role: model or DEFAULT_MODELS.get(role) for role, model in data["models"].items()}
    return data


def _check_patterns(config: Config, doc: object) -> None:
    import re

    from dreamcli.errors import InputError

    for section, key, values in (
        ("redaction", "patterns", config.redaction.patterns),
        ("lint", "forbid_patterns", config.lint.forbid_patterns),
    ):
        for i, pattern in enumerate(values):
            try:
                re.compile(pattern)
            except re.error as e:
                line = doc.line_of((section, key, i))  # type: ignore[attr-defined]
                raise InputError(f"invalid regular expression: {e}", file=str(doc.file),  # type: ignore[attr-defined]
                                 line=line, field=f"{section}.{key}.{i}") from None


_redactors: dict[tuple[str, float], Redactor] = {}


def workspace_redactor(config_path: Path) -> Redactor:
    """The redactor for a workspace: built-in rules plus its config's `redaction.patterns`
    (cached per config file and modification time)."""
    from dreamcli.redaction import for_config

    path = Path(config_path)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    key = (str(path), mtime)
    if key not in _redactors:
        _redactors[key] = for_config(load_config(path))
    return _redactors[key]
