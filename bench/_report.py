"""Write one benchmark's section into docs/benchmarks.md (between markers, other sections untouched)."""

from __future__ import annotations

import os
import platform
import re
import resource
import sys
from pathlib import Path

from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Measured by the scripts in `bench/` (run one with `python bench/bench_<area>.py`). Each section is
rewritten by its script; figures are medians over the runs stated, measured in one run on the
machine named in the section.
"""


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def peak_rss_mb(children: bool = False) -> float:
    """Peak RSS in MB of this process (or of waited-for children)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def write_section(area: str, markdown: str) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(REPORT) + ".lock"):
        text = REPORT.read_text() if REPORT.exists() else HEADER
        begin, end = f"<!-- bench:{area} -->", f"<!-- /bench:{area} -->"
        block = f"{begin}\n{markdown.rstrip()}\n{end}"
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
        text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
        REPORT.write_text(text)
