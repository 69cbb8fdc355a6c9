"""Issue 22, start-up: whole-process wall and CPU of `dreamcli --help`, `sessions list` (an empty
workspace) and `playbooks list`, each against the typer+rich import floor measured in the same run.

Run from the repo root: `python bench/bench_startup.py [--runs 15] [--before DIR] [--no-write]`.
`--before DIR` also times an older tree of the code (e.g. `git archive HEAD | tar -x -C DIR`), run
as `PYTHONPATH=DIR python -m dreamcli`. Rounds interleave every variant in a shuffled (seeded)
order, so load on the machine falls on all of them alike. Writes the `bench:startup` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import machine, write_section

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "import typer, rich"
# The floor of any Typer command in the installed Typer: a one-command app with one str option, run with it.
# Typer 0.2x converts option values through pydantic, so this floor holds what Typer itself imports.
APP_FLOOR = ("import sys, typer, rich\napp = typer.Typer()\n@app.command()\n"
             "def main(home: str = typer.Option(None, '--home')) -> None:\n    pass\n"
             "sys.argv = ['x', '--home', 'ws']\napp()\n")
HEAVY = ("pydantic", "anthropic", "jsonschema", "jinja2", "yaml", "httpx", "msgspec", "importlib.metadata")
TARGET = 1.3


def _env(tmp: Path, code: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DREAMCLI_", "ANTHROPIC_"))}
    env.update(HOME=str(tmp / "home"), PYTHONPATH=str(code or ROOT))
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # byte-compiled once in the warm-up, as an installed package is
    return env


def commands(ws: Path) -> dict[str, list[str]]:
    return {"--help": ["--help"], "sessions list": ["--home", str(ws), "sessions", "list"],
            "playbooks list": ["--home", str(ws), "playbooks", "list"]}


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU user+sys) of one whole process, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_loaded(argv: list[str], env: dict[str, str], cwd: Path) -> list[str]:
    """Which of HEAVY a process imports (python -X importtime)."""
    out = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], env=env, cwd=cwd, capture_output=True,
                         text=True, check=True)
    names = set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", out.stderr, re.M))
    return [h for h in HEAVY if h in names]


def prepare(tmp: Path, name: str, code: Path | None) -> tuple[Path, dict[str, str]]:
    (tmp / "home").mkdir(exist_ok=True)
    ws = tmp / name
    env = _env(tmp, code)
    subprocess.run([sys.executable, "-m", "dreamcli", "--home", str(ws), "init"], env=env, cwd=tmp,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return ws, env


def measure(runs: int, before: Path | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as d:
        tmp = Path(d)
        variants = {"after": prepare(tmp, "ws-after", None)}
        if before is not None:
            variants["before"] = prepare(tmp, "ws-before", before)
        jobs: dict[tuple[str, str], tuple[list[str], dict[str, str]]] = {
            ("floor", "typer+rich"): ([sys.executable, "-c", FLOOR], variants["after"][1]),
            ("floor", "python"): ([sys.executable, "-c", "pass"], variants["after"][1]),
            ("floor", "typer app"): ([sys.executable, "-c", APP_FLOOR], variants["after"][1]),
        }
        for variant, (ws, env) in variants.items():
            for label, args in commands(ws).items():
                jobs[(variant, label)] = ([sys.executable, "-m", "dreamcli", *args], env)
        for argv, env in jobs.values():  # warm the page cache; byte-compile a fresh tree
            run_once(argv, env, tmp)
        wall: dict[tuple[str, str], list[float]] = {k: [] for k in jobs}
        cpu: dict[tuple[str, str], list[float]] = {k: [] for k in jobs}
        rng = random.Random(22)
        order = list(jobs)
        for _ in range(runs):
            rng.shuffle(order)
            for key in order:
                w, c = run_once(*jobs[key], tmp)
                wall[key].append(w)
                cpu[key].append(c)
        loaded = {k: heavy_loaded(*jobs[k], tmp) for k in jobs if k[0] != "floor"}
    return {"load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
            "wall": {k: statistics.median(v) for k, v in wall.items()},
            "cpu": {k: statistics.median(v) for k, v in cpu.items()}, "loaded": loaded}


def report(res: dict[str, object], runs: int, has_before: bool) -> str:
    wall: dict[tuple[str, str], float] = res["wall"]  # type: ignore[assignment]
    cpu: dict[tuple[str, str], float] = res["cpu"]  # type: ignore[assignment]
    loaded: dict[tuple[str, str], list[str]] = res["loaded"]  # type: ignore[assignment]
    fw, fc = wall[("floor", "typer+rich")], cpu[("floor", "typer+rich")]
    aw, ac = wall[("floor", "typer app")], cpu[("floor", "typer app")]
    lines = [
        "## Start-up (issue 22)",
        "",
        f"`python bench/bench_startup.py --runs {runs}` on {machine()}: whole processes, medians of {runs} "
        "interleaved runs; the floor is `python -c \"import typer, rich\"` measured in the same run "
        f"(wall {fw * 1000:.0f} ms, CPU {fc * 1000:.0f} ms; a bare `python -c pass`: "
        f"{wall[('floor', 'python')] * 1000:.0f} ms; load average {res['load']}). `sessions list` and "
        "`playbooks list` run on an empty workspace, stdout and stderr not a terminal. Target: workspace "
        "commands at most 1.3x the floor; CPU is the steadier figure on a busy machine. The app floor is a "
        "one-command Typer app with one `str` option, run with it: what any Typer command costs with the "
        f"installed Typer (wall {aw * 1000:.0f} ms, CPU {ac * 1000:.0f} ms; Typer 0.2x converts option values "
        "through pydantic).",
        "",
        "| command | code | wall ms | x floor | x app floor | CPU ms | x floor | heavy imports loaded |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label in commands(Path("ws")):
        for variant in (("before", "after") if has_before else ("after",)):
            k = (variant, label)
            heavy = ", ".join(loaded[k]) or "none"
            lines.append(f"| `{label}` | {variant} | {wall[k] * 1000:.0f} | {wall[k] / fw:.2f} | {wall[k] / aw:.2f} | "
                         f"{cpu[k] * 1000:.0f} | {cpu[k] / fc:.2f} | {heavy} |")
    lines += ["", "Heavy imports watched: " + ", ".join(HEAVY) + ". Held by tests/cli/test_start_up_imports.py."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--before", type=Path, default=None, help="an older tree of the code to time as well")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()
    res = measure(args.runs, args.before)
    text = report(res, args.runs, args.before is not None)
    print(text)
    wall: dict[tuple[str, str], float] = res["wall"]  # type: ignore[assignment]
    cpu: dict[tuple[str, str], float] = res["cpu"]  # type: ignore[assignment]
    for name, figures in (("wall", wall), ("CPU", cpu)):
        floor = figures[("floor", "typer+rich")]
        worst = max(figures[("after", c)] for c in ("sessions list", "playbooks list")) / floor
        app = max(figures[("after", c)] for c in ("sessions list", "playbooks list")) / figures[("floor", "typer app")]
        print(f"workspace commands, {name}: at most {worst:.2f}x the floor (target {TARGET}x), "
              f"{app:.2f}x the Typer app floor")
    if not args.no_write:
        write_section("startup", text)


if __name__ == "__main__":
    main()
