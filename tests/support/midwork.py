"""A real `dreamcli` process held at a known point of its work, so that a signal a test sends lands mid-work
every time, on a loaded machine too: no fixed delay, no race with the work's end.

`start_held(target, ready, args)` runs the command (`dreamcli.cli.app.main`, as the console script does) with
`target`, "module:function" or "module:Class.method", wrapped: in the command's own process (not in the
workers it forks), once the `nth` call of it returned (a generator function: once it yielded its `nth` item and
was asked for the next), the wrapper writes the file `ready` and sleeps there. `wait_held` waits for that file
(failing the test with the command's stderr if it ended first): from then on the command is at that point,
and the signal interrupts the sleep as it would the work it stands for (held in a generator, the stop is
raised inside the generator, where its own work stands, so that its cleanup runs as it would).

A `target` that no longer exists fails the command at its start (a traceback in the failure), never silently.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

HOLD_S = 120  # how long the command waits at the point: far longer than any test takes to signal it

SCRIPT = """
import functools, importlib, inspect, os, pathlib, sys, time
ready, target, nth, hold = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
module, _, name = target.partition(":")
owner = importlib.import_module(module)
*outer, attr = name.split(".")
for part in outer:
    owner = getattr(owner, part)
real = getattr(owner, attr)
home, calls = os.getpid(), [0]

def reached():
    if os.getpid() == home:  # the command itself, not a worker it forked
        calls[0] += 1
        if calls[0] == nth:
            ready.write_text(target)
            time.sleep(hold)

if inspect.isgeneratorfunction(real):
    def held(*args, **kwargs):  # a signal while held is raised inside the work, where it stands (its cleanup runs)
        inner = real(*args, **kwargs)
        try:
            item = next(inner)
            while True:
                yield item
                try:
                    reached()
                except BaseException as stop:
                    item = inner.throw(stop)
                    continue
                item = next(inner)
        except StopIteration as end:
            return end.value
        finally:
            inner.close()
else:
    def held(*args, **kwargs):
        out = real(*args, **kwargs)
        reached()
        return out
setattr(owner, attr, functools.wraps(real)(held))
from dreamcli.cli.app import main
sys.argv = ["dreamcli", *sys.argv[5:]]
main()
"""


def start_held(target: str, ready: Path, args: list[str], *, nth: int = 1, **popen: Any) -> subprocess.Popen[str]:
    """`dreamcli ARGS` held after the `nth` call of `target` (see the module's doc); stdout and stderr piped,
    text, stdin closed; `popen` adds to (or overrides) subprocess.Popen's arguments (env, preexec_fn, ...)."""
    options: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE,
                               "text": True, **popen}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(ready), target, str(nth), str(HOLD_S), *args],
                            **options)


def wait_held(proc: subprocess.Popen[str], ready: Path, timeout: float = 120) -> None:
    """Return once `proc` is held at its point; fail the test (the process killed) if it ended or took longer
    than `timeout` seconds to get there."""
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the command never reached its held point (exit {proc.returncode}): {(out + err)[-800:]}")
        time.sleep(0.005)
