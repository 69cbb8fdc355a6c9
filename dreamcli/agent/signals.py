"""SIGTERM and SIGHUP during a run, handled as Ctrl-C (docs/reliability.md, "Signals").

    with signals_as_interrupt():
        result = run_agent(...)

The handling lives in the leaf module `dreamcli.interrupts`, which the entry point installs for every
command before it imports anything else; the agent reads its names from here.
"""

from __future__ import annotations

from dreamcli.interrupts import HANDLED, Caught, Terminated, interrupt_reason, signal_name, signals_as_interrupt

__all__ = ["HANDLED", "Caught", "Terminated", "interrupt_reason", "signal_name", "signals_as_interrupt"]
