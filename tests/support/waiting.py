"""The CLI's "waiting for …" counter (dreamcli/ui/waiting.py) made quick for end-to-end tests: its first line
after `after_s` seconds instead of 15, then no other for half a minute.

    quicken(monkeypatch, 0.1)
"""

from __future__ import annotations

from typing import Any

import pytest

from dreamcli.ui.waiting import Waiting


def quicken(monkeypatch: pytest.MonkeyPatch, after_s: float) -> None:
    init = Waiting.__init__

    def quick(self: Waiting, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.after_s, self.every_s = after_s, 30

    monkeypatch.setattr(Waiting, "__init__", quick)
