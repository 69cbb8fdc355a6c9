"""Issue 21: the kill -9 torture run. SIGKILLs real `dreamcli` processes of dream, approve, revert,
sessions import, bundle import and run, at every named step (DREAMCLI_CRASH_AT) and at random
moments, then checks the invariants (dreamcli/testing/torture.py, torture_checks.py).

Run from the repo root: `python bench/torture.py --trials 500 --seed 21 [--workers 4] [--json OUT]`.
Exits 1 when any trial failed; prints the figures docs/reliability.md quotes. `run` trials talk to a
FakeAnthropic server on 127.0.0.1 whose agent writes a secret into its memory.

The killed processes import dreamcli the way this script does. To torture a working tree that other
work keeps changing, run a frozen copy of it: `cd COPY && PYTHONPATH=COPY python bench/torture.py …`
(a half-saved edit in the live tree fails trials that say nothing about crash consistency).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dreamcli.testing import FakeAnthropic  # noqa: E402
from dreamcli.testing.torture import STEPS, responder_for_runs, torture  # noqa: E402
from tests.support.paths import CLAUDE_CODE_SAMPLES  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=500)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--command", action="append", choices=sorted(STEPS), help="only these commands (repeatable)")
    ap.add_argument("--json", type=Path, help="write the report here")
    ap.add_argument("--keep", action="store_true", help="keep the workspaces of failed trials")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dreamcli-torture-"))
    server = FakeAnthropic().start()
    server.responder = responder_for_runs()
    server.allow_leftovers = True
    started = time.monotonic()
    try:
        report = torture(root, seed=args.seed, trials=args.trials, transcripts=CLAUDE_CODE_SAMPLES,
                         commands=args.command, fake_url=server.url, workers=args.workers,
                         progress=lambda t: print(f"{t.command:8} {t.how:28} killed={t.killed} "
                                                  f"{'FAIL ' + t.failures[0] if t.failures else 'ok'}",
                                                  flush=True))
    finally:
        server.stop()
    data = report.to_json()
    data["seconds"] = round(time.monotonic() - started, 1)
    data["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data["code"] = str(Path(sys.modules["dreamcli"].__file__ or "").parent)  # which tree was tortured
    print(json.dumps({k: v for k, v in data.items() if k != "failures"}, indent=2))
    for f in data["failures"][:20]:
        print("FAILED:", f["command"], f["how"], "; ".join(f["failures"][:3]))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    if not args.keep or not data["failures"]:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if data["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
