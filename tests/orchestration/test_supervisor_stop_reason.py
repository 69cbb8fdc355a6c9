"""What stopped a supervisor reaches the supervisors under it: a batch stopped by SIGTERM cancels each lead,
whose sub-agents' supervisor sees only the event; their logs must name the signal, not the user."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from dreamcli.errors import EXIT_INTERRUPTED
from dreamcli.orchestration.supervisor import INTERRUPTED_ERROR, Job, Supervisor


def blocked_until(cancel: threading.Event) -> Callable[[Job], None]:
    def fn(job: Job) -> None:
        cancel.wait(10)

    return fn


def stop_child_from(parent: Supervisor) -> Supervisor:
    """A child supervisor (a lead's sub-agents) whose one job waits for the cancel, stopped through
    `parent.interrupt()` from another thread; returns it after its run raised."""
    child = Supervisor(1, parent_cancel=parent.cancel, grace_s=0.05)
    timer = threading.Timer(0.1, parent.interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            child.run([Job(0, blocked_until(child.cancel))])
    finally:
        timer.cancel()
    return child


def test_a_child_supervisor_names_the_signal_that_stopped_its_parent() -> None:
    parent = Supervisor(1)
    parent.stop = ("interrupted by SIGTERM", 143)  # as run() names a Terminated before interrupt()
    child = stop_child_from(parent)
    assert parent.cancel.reason == ("interrupted by SIGTERM", 143)
    assert child.stop == ("interrupted by SIGTERM", 143)
    assert child.cancel.reason == child.stop  # and passes it on to its own children


def test_a_child_of_a_ctrl_c_stop_says_the_user() -> None:
    child = stop_child_from(Supervisor(1))
    assert child.stop == (INTERRUPTED_ERROR, EXIT_INTERRUPTED)
