"""Errors that carry their exit code (docs/architecture.md, "Exit codes": 0/1/2/3/4/75/130).

Core code raises these; the CLI turns them into one line on stderr and the exit code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INFRA = 3
EXIT_CREDENTIALS = 4
EXIT_LOCKED = 75
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141  # stdout's reader went away (`| head`): 128 + SIGPIPE, as the shell reports it


class DreamError(Exception):
    """Base error: `str(err)` is the one line shown to the user."""

    exit_code: int = EXIT_FAILED

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class WorkFailed(DreamError):
    """The work ran and failed (grade below threshold, a failed agent run)."""

    exit_code = EXIT_FAILED


class UsageError(DreamError):
    """Bad usage or bad input; the message names the file and field at fault."""

    exit_code = EXIT_USAGE


class InputError(UsageError):
    """Bad input file: carries file, line and field for a precise message."""

    def __init__(
        self, message: str, *, file: str | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        where = ""
        if file:
            where = str(file)
            if line is not None:
                where += f":{line}"
            where += ": "
        if field:
            where += f"{field}: "
        super().__init__(where + message)
        self.file = file
        self.line = line
        self.field = field


class ModelError(DreamError):
    """Grader or model infrastructure error (unscored)."""

    exit_code = EXIT_INFRA


class CredentialsError(DreamError):
    """Missing credentials or model endpoint."""

    exit_code = EXIT_CREDENTIALS


class LockHeld(DreamError):
    """Another process holds the workspace lock."""

    exit_code = EXIT_LOCKED


class Interrupted(DreamError):
    """The user interrupted the work (Ctrl-C)."""

    exit_code = EXIT_INTERRUPTED
