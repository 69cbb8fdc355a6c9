"""Finding the workspace and its layout.

Resolution order: `--home PATH`, `DREAMCLI_HOME`, the nearest `.dreamcli/` walking up from the current
directory, then `platformdirs.user_data_path("dreamcli")`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dreamcli.errors import StorageError, UsageError
from dreamcli.workspace.fsutil import ensure_dir
from dreamcli.workspace.userpath import user_path

LOCAL_DIR_NAME = ".dreamcli"
ENV_HOME = "DREAMCLI_HOME"


@dataclass(frozen=True)
class Workspace:
    """A resolved workspace root and the paths of its layout (see docs/workspace.md)."""

    root: Path
    source: str  # "option", "env", "local", "default"

    # --- layout -------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    @property
    def sessions_dir(self) -> Path:
        return self.root / "sessions"

    @property
    def memory_dir(self) -> Path:
        return self.root / "memory"

    def memory_store(self, store: str = "default") -> Path:
        """Root of a memory store; the memory tool's `/memories/` is `memories_root(store)`."""
        return self.memory_dir / store

    def memories_root(self, store: str = "default") -> Path:
        """The directory the model sees as `/memories/` (the memory tool's root) of a memory store."""
        return self.memory_store(store) / "memories"

    @property
    def playbooks_dir(self) -> Path:
        return self.root / "playbooks"

    @property
    def playbook_history_dir(self) -> Path:
        return self.playbooks_dir / ".history"

    @property
    def dreams_dir(self) -> Path:
        return self.root / "dreams"

    @property
    def grades_dir(self) -> Path:
        return self.root / "grades"

    @property
    def grades_file(self) -> Path:
        """grades.jsonl: one record per grade, appended."""
        return self.grades_dir / "grades.jsonl"

    @property
    def audit_path(self) -> Path:
        return self.root / "audit.jsonl"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def locks_dir(self) -> Path:
        return self.state_dir / "locks"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def intents_dir(self) -> Path:
        """Intent journals of multi-file operations (dreamcli.workspace.intents)."""
        return self.state_dir / "intents"

    # --- creation ---------------------------------------------------------------------------
    def ensure(self) -> Workspace:
        """Create the root (0700) if missing. Sub-directories are created on demand by writers."""
        check_home_usable(self.root)
        ensure_dir(self.root)
        return self

    def exists(self) -> bool:
        return self.root.is_dir()

    def has_layout(self) -> bool:
        """The root holds a dreamcli workspace (docs/workspace.md): a `.dreamcli` folder, or one with
        `config.yaml`, `state/`, `sessions/`, `audit.jsonl` or `playbooks/.history/` (every command that
        writes leaves `state/`). A project folder named by mistake has none of them, even when it has a
        `playbooks/` folder of its own, and nothing in it may be swept."""
        if self.root.name == LOCAL_DIR_NAME:
            return self.root.is_dir()
        return (self.config_path.is_file() or self.state_dir.is_dir() or self.sessions_dir.is_dir()
                or self.audit_path.is_file() or self.playbook_history_dir.is_dir())

    def is_empty(self) -> bool:
        try:
            with os.scandir(self.root) as it:
                return next(it, None) is None
        except OSError:
            return False

    def ensure_layout(self) -> Workspace:
        self.ensure()
        for d in (self.sessions_dir, self.memory_dir, self.playbooks_dir, self.dreams_dir,
                  self.grades_dir, self.state_dir):
            ensure_dir(d)
        return self


def check_home_usable(root: Path) -> None:
    user_path(root, "workspace", recorded=True)  # its path goes into the session index and the audit trail
    if root.exists() and not root.is_dir():
        raise UsageError(f"workspace {root} is a file, not a directory (pass --home DIR or set {ENV_HOME})")
    if root.is_dir() and not os.access(root, os.R_OK | os.W_OK | os.X_OK):
        if _read_only_fs(root):  # every user is refused there, root too: not a question of permissions
            raise StorageError(f"workspace {root} is on a read-only file system: remount it read-write")
        raise UsageError(f"workspace {root} is not readable and writable by this user")
    if not root.exists():
        parent = next((p for p in root.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise UsageError(f"cannot create workspace {root}: {parent} is a file")


def _read_only_fs(path: Path) -> bool:
    """Whether `path` lies on a file system mounted read-only (statvfs's ST_RDONLY, where the system has it)."""
    try:
        return bool(os.statvfs(path).f_flag & getattr(os, "ST_RDONLY", 0))
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False


def find_local(start: Path) -> Path | None:
    """The nearest `.dreamcli/` directory walking up from `start`."""
    start = start.resolve()
    for d in (start, *start.parents):
        candidate = d / LOCAL_DIR_NAME
        if candidate.is_dir():
            return candidate
    return None


def resolve_home(option: str | os.PathLike[str] | None = None, *, cwd: Path | None = None) -> Workspace:
    """Resolve the workspace without touching the disk (except to look for `.dreamcli/`)."""
    if option:
        return _checked(Path(option).expanduser(), "option")
    env = os.environ.get(ENV_HOME)
    if env:
        return _checked(Path(env).expanduser(), "env")
    local = find_local(cwd or Path.cwd())
    if local is not None:
        return _checked(local, "local")
    import platformdirs

    return _checked(platformdirs.user_data_path("dreamcli"), "default")


_WORKSPACE_MARKERS = ("config.yaml", "sessions", "playbooks", "dreams", "state")
_ORIGIN = {"option": "--home", "env": ENV_HOME, "local": "nearest .dreamcli", "default": "default"}


def _absolute(path: Path) -> Path:
    """`path` made absolute, the `..` it starts with taken off the working directory (a physical path: where
    the system goes too), so `--home ../ws` from a folder whose own name is not UTF-8 names the UTF-8
    workspace. A later `..` is kept: after a symlink it is the target's parent, not the link's."""
    if path.is_absolute():
        return path
    base, parts = Path.cwd(), path.parts
    while parts[:1] == ("..",):
        base, parts = base.parent, parts[1:]
    return base.joinpath(*parts)


def _checked(path: Path, source: str) -> Workspace:
    # a path the system cannot look up, or that is not UTF-8 (the session index and the audit trail record
    # it): one line naming where it came from, before anything is created
    path = user_path(_absolute(path), f"workspace (from {_ORIGIN[source]})", recorded=True)
    if path.exists() and not path.is_dir():
        raise UsageError(f"workspace {path} (from {_ORIGIN[source]}) is a file, not a directory")
    # `--home PROJECT` where PROJECT holds the .dreamcli/ that `dreamcli init PROJECT` made: use that,
    # rather than silently growing a second workspace beside it.
    local = path / LOCAL_DIR_NAME
    if source in ("option", "env") and local.is_dir() and not any((path / m).exists() for m in _WORKSPACE_MARKERS):
        path = local
    return Workspace(root=path, source=source)
