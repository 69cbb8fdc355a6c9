"""glob on a tree deeper than the descriptors left: an error the tool reports, never results cut short or
"no matches" (review of 648d21b: listing a folder took EMFILE for an empty folder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import os, resource, sys
from pathlib import Path
from dreamcli.agent.tools.file_ops import FileToolError, glob
root = Path(sys.argv[1])
base = len(os.listdir("/proc/self/fd"))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
for limit in range(base + 2, base + 60):
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    try:
        out = glob(root, "**/*.txt", None)
    except FileToolError as e:
        print(limit, "error", e.kind, e)
    else:
        print(limit, "found" if "deep.txt" in out else "cut short: " + " | ".join(out.splitlines()))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
"""


def test_glob_out_of_descriptors_says_so(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*(f"d{i}" for i in range(40)))
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text("x")
    (tmp_path / "top.txt").write_text("x")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = [line.split(" ", 1)[1] for line in done.stdout.splitlines()]
    assert not [r for r in results if r.startswith("cut short")], done.stdout
    said = "error exception glob: Too many open files"
    assert "found" in results and any(r.startswith(said) for r in results), done.stdout
