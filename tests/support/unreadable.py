"""A session file this process cannot open, even as root (who reads a `chmod 000` file all the same):
`deny(monkeypatch, path)` makes `open` and `os.open` of that path raise PermissionError (EACCES), as a
`chmod 000` file does for any other user. The file stays where it is, so listings find it; lifting the
patch (`monkeypatch.undo()`) makes it readable again."""

from __future__ import annotations

import builtins
import errno
import os
from pathlib import Path
from typing import Any

import pytest


def deny(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    denied = {os.path.abspath(path)}
    real_open, real_os_open = builtins.open, os.open

    def check(file: Any) -> None:
        if isinstance(file, str | os.PathLike) and os.path.abspath(os.fspath(file)) in denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(file))

    def fake_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        check(file)
        return real_open(file, *args, **kwargs)

    def fake_os_open(file: Any, *args: Any, **kwargs: Any) -> int:
        check(file)
        return real_os_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)
