"""Redaction throughput against a plain `str.find` of the rules' anchors, before and after the fast path.

Run from the repo root: `python bench/bench_redaction.py [--quick] [--runs 7] [--before DIR]`. DIR holds an
older tree's `dreamcli/redaction` (e.g. `git archive <rev> dreamcli/redaction | tar -x -C DIR`); it is
imported under another name and measured beside this one, run by run. Writes the redaction section of
docs/benchmarks.md (not with `--quick`).

The baseline is the least a literal prefilter does on clean text: one C-level search of the whole text
per anchor, a literal that some rule needs (`str.count`, the search of `str.find` without a Python step
per hit; the case-insensitive rules' anchors in the lower-cased text, `lower()` included).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import machine, write_section  # noqa: E402
from dreamcli.redaction import default_redactor, prefilter  # noqa: E402
from dreamcli.redaction import redactor as redactor_module  # noqa: E402

_RNG = random.Random(7)
# One literal that each rule needs (its prefix, or each of its branches'); lower-case ones for the
# case-insensitive rules, searched in the lower-cased text.
CASED_ANCHORS = ("-----BEGIN ", "sk-", "sk_", "rk_", "gh", "github_pat_", "gl", "AKIA", "ASIA", "ABIA", "ACCA",
                 "AIza", "npm_", "xox", "xapp-", "hooks.slack.com/", "://", "curl", "-p")  # fmt: skip
FOLDED_ANCHORS = ("bearer", "authorization", "api", "pass", "pwd", "secret", "token")


def find_anchors(text: str) -> object:
    low = text.lower()
    return sum(map(text.count, CASED_ANCHORS)) + sum(map(low.count, FOLDED_ANCHORS))


def find_anchors_obj(obj: object) -> object:
    """The baseline for `redact_obj`: the same walk, `find_anchors` on each string."""
    if isinstance(obj, str):
        return find_anchors(obj)
    if isinstance(obj, dict):
        return [find_anchors_obj(v) for v in obj.values()]
    if isinstance(obj, list | tuple):
        return [find_anchors_obj(v) for v in obj]
    return None


def transcript_records() -> list[object]:
    """The records of the importers' fidelity corpus: transcripts as agents write them (most
    strings are short: ids, types, timestamps, one-line messages)."""
    records = []
    for path in sorted((ROOT / "tests" / "sessions" / "fidelity").rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


def _hex(n: int) -> str:
    return "".join(_RNG.choice("0123456789abcdef") for _ in range(n))


def clean_log_chunk(i: int) -> str:
    """One screenful of ordinary agent/tool/CI output: no secrets, many near-misses."""
    sha = hashlib.sha1(str(i).encode()).hexdigest()
    return "\n".join(
        [
            f"commit {sha}",
            "Author: Dev <dev@example.com>",
            "    fix: handle empty task-list in risk-assessment step",
            f"tests/test_tokens.py::test_count_tokens[{i}] PASSED                              [ {i % 100:2d}%]",
            "tests/test_auth.py::test_password_hash_rounds PASSED",
            f"E   AssertionError: assert {{'input_tokens': {i}, 'output_tokens': 12}} == {{'input_tokens': 3}}",
            f"Collecting requests==2.32.{i % 9}",
            f"  Downloading https://files.pythonhosted.org/packages/{_hex(2)}/{_hex(2)}/requests-2.32.3.tar.gz",
            f"{uuid.UUID(int=i * 7919)} INFO session started model=claude-sonnet api=https://api.example.com",
            f"docker.io/library/python@sha256:{hashlib.sha256(str(i).encode()).hexdigest()}",
            f'  "integrity": "sha512-{_hex(60)}",',
            json.dumps({"type": "tool_result", "tool_use_id": f"toolu_{_hex(24)}", "content": "ok", "id": i}),
            f"$ mkdir -p build && curl -fsSL https://example.com/v{i % 7}/install.sh -o build/i.sh | sort -u",
            "npm_config_cache=/tmp/.npm npm_lifecycle_event=test PWD=/work/app task_live_reload=1",
            "def load_config(path: str) -> dict[str, object]:",
            "    return yaml.safe_load(Path(path).read_text()) or {}",
            "The secret to a good playbook is short entries; see docs for the token budget.",
            "",
        ]
    )


def secret_chunk(i: int) -> str:
    body = "".join(_RNG.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(36))
    return clean_log_chunk(i) + f"export GITHUB_TOKEN=gh{'p'}_{body}\nAuthorization: Bearer {body}Zz9\n"


def curl_line(size: int) -> str:
    """One line of curl commands, as a transcript holds a tool's command log (JSON-escaped: `\\n` ends
    no line), with a password after `-u` halfway: each command is read on for a `-u` option."""
    commands = [
        f"curl -fsSL -H 'Accept: application/json' https://example.com/v1/items/{i} -o item-{i}.json\n"
        for i in range(size // 90)
    ]
    password = hashlib.sha1(b"curl_line").hexdigest()[:20]
    commands[len(commands) // 2] = f"curl -u deploy:{password} https://example.com/v1/deploy\n"
    return json.dumps("".join(commands))


def load_before(tree: Path, tmp: Path) -> ModuleType:
    """The redaction package of an older tree, imported as `_redaction_before`."""
    target = tmp / "_redaction_before"
    shutil.copytree(tree / "dreamcli" / "redaction", target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in target.glob("*.py"):
        path.write_text(path.read_text().replace("dreamcli.redaction", "_redaction_before"))
    sys.path.insert(0, str(tmp))
    return importlib.import_module("_redaction_before")


class Tuned:
    """This tree's redactor with its limits set for each call: `no_re2` turns the RE2 scan off (what an
    install without the `fast` extra gets); `one_scan` also lifts `GATE_LIMIT`, so the gate runs at any
    length (the evidence for the limit). The wrapper adds ~0.2 µs per call."""

    def __init__(self, redactor: Any, one_scan: bool) -> None:
        self.redactor = redactor
        self.one_scan = one_scan

    def _call(self, method: str, arg: Any) -> Any:
        limit, start = redactor_module.GATE_LIMIT, redactor_module.PREFILTER_FROM
        redactor_module.PREFILTER_FROM = sys.maxsize
        if self.one_scan:
            redactor_module.GATE_LIMIT = sys.maxsize
        try:
            return getattr(self.redactor, method)(arg)
        finally:
            redactor_module.GATE_LIMIT, redactor_module.PREFILTER_FROM = limit, start

    def redact_text(self, s: str) -> str:
        return str(self._call("redact_text", s))

    def redact_obj(self, obj: Any) -> Any:
        return self._call("redact_obj", obj)


def cpu(fn: Callable[[], object]) -> float:
    """CPU seconds: redaction is single-threaded, and on the shared box wall time swings by half
    between runs while CPU time stays within a few percent."""
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def _row(label: str, size: int | None, calls: int, med: dict[str, float]) -> str:
    """One table row: each variant's speed (MB/s, or µs per call), then its CPU time ÷ the baseline's."""

    def speed(name: str) -> str:
        if name not in med:
            return "–"
        return f"{med[name] / calls * 1e6:,.2f} µs/call" if size is None else f"{size / 1e6 / med[name]:,.0f} MB/s"

    names = ("before", "after", "no_re2", "scan")
    ratios = [f"{med[name] / med['baseline']:.2f}×" if name in med else "–" for name in names]
    speeds = " | ".join(speed(name) for name in ("baseline", *names))
    return f"| {label} | {speeds} | {' | '.join(ratios)} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--before", type=Path, default=None)
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs
    target = 2_000_000 if args.quick else 8_000_000
    after = default_redactor()
    tmp = Path(tempfile.mkdtemp(prefix="bench-redaction-"))
    try:
        before = load_before(args.before, tmp).default_redactor() if args.before else None
        measure(after, before, runs, target)
    finally:
        shutil.rmtree(tmp)


def measure(after: Any, before: Any, runs: int, target: int) -> None:
    chunks = [clean_log_chunk(i) for i in range(200)]
    unit = "\n".join(chunks)
    clean = unit * max(1, target // len(unit))
    near = ("token", "secret", "pass", "api", "task-", "risk-", "curl", " -p", "npm_", "pwd")
    plain_unit = "".join(line + "\n" for line in unit.splitlines() if not any(w in line.lower() for w in near))
    plain = plain_unit * max(1, target // len(plain_unit))
    dense = "\n".join(secret_chunk(i) for i in range(200)) * max(1, target // len(unit))
    curls = curl_line(100_000)  # not scaled: before the fix, the curl rule took time quadratic in it
    pieces = [unit[i : i + 1500] for i in range(0, len(unit) - 1500, 1500)] * 4  # tool outputs of 1.5 KB
    shorts = list(dict.fromkeys(line for line in unit.splitlines() if 20 <= len(line) <= 60))[:2000]  # distinct
    message = {
        "v": 1, "type": "message", "seq": 3, "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "is_error": False,
                     "content": [{"type": "text", "text": c}]} for c in chunks[:4]],
    }  # fmt: skip
    assert after.redact_text(clean) is clean and after.redact_text(plain) is plain, "corpus must be secret-free"
    assert "[REDACTED:basic_auth]" in after.redact_text(curls), "the curl line's password must be found"
    if before is not None:
        assert before.redact_text(dense) == after.redact_text(dense), "before and after disagree"
        assert before.redact_text(curls) == after.redact_text(curls), "before and after disagree"

    def per_text(redact: Callable[[str], object], texts: list[str]) -> Callable[[], object]:
        return lambda: [redact(t) for t in texts]

    def per_obj(redact: Callable[[object], object], objs: list[object]) -> Callable[[], object]:
        return lambda: [redact(o) for o in objs]

    def fresh(r: Any) -> Any:
        """A new redactor of the same kind: what it remembers of clean strings starts empty."""
        return Tuned(type(r.redactor)(), r.one_scan) if isinstance(r, Tuned) else type(r)()

    def first_sight(method: str, items: list[Any]) -> Callable[[Any], Callable[[], object]]:
        """Each run with a new redactor: every string is seen once (a transcript's ids and texts)."""
        base = find_anchors if method == "redact_text" else find_anchors_obj
        return lambda r: (lambda: [getattr(f, method)(x) for f in (fresh(r),) for x in items]) if r else (
            lambda: [base(x) for x in items])

    # (label, size in chars or None for µs/call, calls per run, workload: redactor or baseline -> thunk)
    cases: list[tuple[str, int | None, int, Callable[[Any], Callable[[], object]]]] = [
        ("clean log text, many near-misses (one 8 MB string)", len(clean), 1,
         lambda r: (lambda: r.redact_text(clean)) if r else (lambda: find_anchors(clean))),
        ("clean log text, few near-misses (one 8 MB string)", len(plain), 1,
         lambda r: (lambda: r.redact_text(plain)) if r else (lambda: find_anchors(plain))),
        ("secret-dense log text, 2 secrets per 1.5 KB (one string)", len(dense), 1,
         lambda r: (lambda: r.redact_text(dense)) if r else (lambda: find_anchors(dense))),
        ("one long line of curl commands (JSON-escaped, 100 KB, 1 secret)", len(curls), 1,
         lambda r: (lambda: r.redact_text(curls)) if r else (lambda: find_anchors(curls))),
        ("clean log text as 1.5 KB strings (tool outputs)", sum(map(len, pieces)), len(pieces),
         lambda r: per_text(r.redact_text if r else find_anchors, pieces)),
        ("clean one-line strings (20-60 chars), each seen once", None, len(shorts),
         first_sight("redact_text", shorts)),
        ("the same strings seen again (one redactor)", None, len(shorts),
         lambda r: per_text(r.redact_text if r else find_anchors, shorts)),
        ("redact_obj, clean 6 KB message", None, 1000,
         lambda r: (lambda: [r.redact_obj(message) for _ in range(1000)]) if r else
         (lambda: [find_anchors(c) for _ in range(1000) for c in chunks[:4]])),
    ]  # fmt: skip
    records = transcript_records()
    if records:
        label = f"redact_obj, {len(records):,} transcript records (tests/sessions/fidelity), one pass"
        cases.append((label, None, len(records), first_sight("redact_obj", records)))
        cases.append(("the same records again (one redactor)", None, len(records),
                      lambda r: per_obj(r.redact_obj if r else find_anchors_obj, records)))
    variants = {"baseline": None, "after": after, "no_re2": Tuned(after, False), "scan": Tuned(after, True)}
    variants |= {"before": before} if before is not None else {}
    rows = []
    for label, size, calls, workload in cases:
        thunks = {name: workload(r) for name, r in variants.items()}
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(runs):  # interleaved, so that load drifts hit all variants alike
            for name, thunk in thunks.items():
                times[name].append(cpu(thunk))
        rows.append(_row(label, size, calls, {name: statistics.median(ts) for name, ts in times.items()}))
    before_is = "the tree given by `--before`, one scan per rule" if before is not None else "not measured"
    md = [
        f"Machine: {machine()}. `python bench/bench_redaction.py --before DIR`. Medians of {runs} runs, the",
        "variants interleaved run by run, in CPU time of the (single-threaded) redactor: on this shared box",
        "wall time swings by half between runs. MB = 10^6 characters of ASCII text.",
        "",
        "- *baseline*: a plain `str.find` of the anchors: one C-level search of the whole text for each of",
        f"  the {len(CASED_ANCHORS) + len(FOLDED_ANCHORS)} literals the rules need (`str.count`: the search of",
        "  `str.find` without a Python step per hit; the case-insensitive rules' anchors in the lower-cased",
        "  text), the least a literal prefilter costs;",
        f"- *before*: {before_is};",
        "- *after*: this tree: ASCII text over"
        f" `redactor.PREFILTER_FROM` = {redactor_module.PREFILTER_FROM:,} characters first goes through one",
        "  RE2 scan (`dreamcli.redaction.prefilter`, the `fast` extra:"
        f" {'installed' if prefilter.available() else 'NOT installed for this run'}), which ends there when",
        "  no rule can match; otherwise one scan for all rules (`dreamcli.redaction.gate`) up to",
        f"  `redactor.GATE_LIMIT` = {redactor_module.GATE_LIMIT:,} characters, one scan per rule past it;",
        "- *no RE2*: the same without the RE2 scan, what an install without the `fast` extra gets;",
        "- *one scan*: *no RE2* with `GATE_LIMIT` lifted, the evidence for that limit. Both go through a",
        "  wrapper that sets the limits, which adds ~0.2 µs per call.",
        "",
        "Ratios are CPU time ÷ the baseline's (lower is faster). A redactor remembers the short strings",
        f"(up to {redactor_module.CLEAN_CACHED_LENGTH} characters) it found clean: *each seen once* and *one pass*",
        "start each run with a new redactor, *seen again* rows reuse one, as an import or a dream does",
        "for the keys, roles, tool names and model names that every record repeats.",
        "",
        "| case | baseline | before | after | no RE2 | one scan | before ÷ baseline | after ÷ baseline"
        " | no RE2 ÷ baseline | one scan ÷ baseline |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Reading: CPython's `re` finds a literal prefix at memchr speed, but a set of first characters",
        "(the one scan's pivots) one character at a time (~2.6 ns), entering the matcher at each pivot",
        "(~40 ns). So the one scan wins where the ~0.4 µs per rule of the rule-by-rule path counts (strings",
        "up to a few KB: nearly all the strings of a transcript), and 13 literal scans win on long text;",
        "secret-dense long text would pay a scan again after each rule that changed it. RE2 runs a DFA",
        "over the text, with no step per pivot, so one scan of it costs about what a literal search does;",
        "it has no lookbehind, so it only says whether any rule can match (`prefilter.translate` widens",
        "each rule into RE2 syntax), and text where one can goes on to the rules. Its cost per call",
        "(~2 µs: the string is copied as UTF-8) is why short text stays with the gate. Measured once",
        "beside this (not re-run by the script): `pyahocorasick` over the anchors, 100 MB/s on the",
        "near-miss text, with every hit back in Python.",
    ]
    text = "\n".join(md)
    print(text)
    if runs >= 5 and target >= 8_000_000:
        write_section("redaction", "## Redaction\n\n" + text)


if __name__ == "__main__":
    main()
