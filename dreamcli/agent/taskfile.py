"""Task files (docs/task-files.md) -> `TaskSpec`.

    name: contract-review            # required
    prompt: |                        # required
      List every termination clause ...
    workdir: contract-review/docs    # optional, relative to the task file
    outcome: ../sample_outcomes/contract-review.yaml   # optional, relative to the task file
    playbook: legal                  # optional
    tools: [bash, read, write, glob, grep, memory]     # optional (default: all built-in tools)
    model: claude-sonnet-5-5         # optional
    max_turns: 30                    # optional
    tags: [legal]                    # optional

Unknown keys, wrong types and unknown tool names are refused with the file, line and field (exit 2).
Tool names are checked against the tool registry (`dreamcli.agent.tools.registry`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dreamcli.agent.spec import PLAYBOOK_NAME_RE, TaskSpec
from dreamcli.agent.tools.registry import get_factory, known_tools
from dreamcli.errors import InputError
from dreamcli.yamlio import load_yaml_file, validation_error


class TaskFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=200)
    prompt: str = Field(min_length=1)
    workdir: str | None = None
    outcome: str | None = None
    playbook: str | None = None
    tools: list[str] | None = None
    model: str | None = Field(default=None, min_length=1)
    max_turns: int | None = Field(default=None, ge=1, le=1000)
    tags: list[str] = Field(default_factory=list)
    copy_workdir: bool = False

    @field_validator("playbook")
    @classmethod
    def _playbook_name(cls, v: str | None) -> str | None:
        if v is not None and not PLAYBOOK_NAME_RE.match(v):
            raise ValueError("a playbook name: ASCII letters, digits, '.', '_' or '-'")
        return v

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the prompt is empty")
        return v


def load_task_file(path: Path) -> TaskSpec:
    """Load and validate a task file; InputError (exit 2) names the file, line and field at fault."""
    path = Path(path).absolute()
    doc = load_yaml_file(path)
    if not isinstance(doc.data, dict):
        raise InputError("a task file is a YAML mapping with at least `name` and `prompt`", file=str(path), line=1)
    try:
        task = TaskFile.model_validate(doc.data)
    except ValidationError as err:
        raise validation_error(err, doc) from None
    for i, name in enumerate(task.tools or []):
        if get_factory(name) is None:
            raise InputError(f"unknown tool {name!r} (known: {', '.join(known_tools())})", file=str(path),
                             line=doc.line_of(("tools", i)), field=f"tools.{i}")
    base = path.parent
    for field, value in (("workdir", task.workdir), ("outcome", task.outcome)):
        if "\0" in (value or ""):  # no path can hold a NUL byte (resolve() raises ValueError)
            raise InputError("a path cannot hold a NUL byte (\\0)", file=str(path), line=doc.line_of((field,)),
                             field=field)
    workdir = _resolve(base, task.workdir)
    if workdir is not None and not workdir.is_dir():
        raise InputError(f"working directory {workdir} does not exist", file=str(path),
                         line=doc.line_of(("workdir",)), field="workdir")
    return TaskSpec(
        prompt=task.prompt,
        name=task.name,
        file=path,
        workdir=workdir,
        outcome=_resolve(base, task.outcome),
        playbook=task.playbook,
        tools=tuple(task.tools) if task.tools is not None else None,
        model=task.model,
        max_turns=task.max_turns,
        tags=tuple(task.tags),
        copy_workdir=task.copy_workdir,
    )


def _resolve(base: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()
