"""dreamcli.collector: freezing the collector around a long pass, and never unfreezing what it did not freeze."""

from __future__ import annotations

import gc

import pytest

from dreamcli.collector import frozen


def test_frozen_freezes_for_the_block_and_unfreezes_after_even_on_failure() -> None:
    assert gc.get_freeze_count() == 0
    with frozen():
        assert gc.get_freeze_count() > 0
        with frozen():  # nested: the outer block unfreezes
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), frozen():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0


def test_objects_someone_else_froze_stay_frozen() -> None:
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with frozen():
            pass
        assert gc.get_freeze_count() >= before > 0
    finally:
        gc.unfreeze()
