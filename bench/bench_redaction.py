"""Redaction throughput: clean log text (the common case), text with secrets, and per-message cost.

Run from the repo root: `python bench/bench_redaction.py [--quick]`. Writes its section of
docs/benchmarks.md.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import machine, write_section
from dreamcli.redaction import Redactor, default_redactor

_RNG = random.Random(7)


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


def samples(fn: Callable[[], object], runs: int) -> list[float]:
    """CPU seconds per run: redaction is single-threaded, and on the shared box wall time swings
    by half between runs while CPU time stays within a few percent."""
    out = []
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        out.append(time.process_time() - t0)
    return out


def median_time(fn: Callable[[], object], runs: int) -> float:
    return statistics.median(samples(fn, runs))


def throughput(fn: Callable[[], object], size: int, runs: int) -> str:
    """Median and best MB per CPU-second."""
    times = samples(fn, runs)
    return f"{size / 1e6 / statistics.median(times):,.0f} MB/s (best {size / 1e6 / min(times):,.0f})"


def main() -> None:
    quick = "--quick" in sys.argv
    runs = 3 if quick else 9
    target_bytes = 2_000_000 if quick else 8_000_000
    r = default_redactor()
    chunks = [clean_log_chunk(i) for i in range(200)]
    unit = "\n".join(chunks)
    clean = unit * max(1, target_bytes // len(unit))
    assert r.redact_text(clean) is clean, "bench corpus must be secret-free"
    with_secrets = "\n".join(secret_chunk(i) for i in range(200)) * max(1, target_bytes // len(unit))
    near_miss_words = ("token", "secret", "pass", "api", "task-", "risk-", "curl", " -p", "npm_", "pwd")
    plain_unit = "".join(
        line + "\n" for line in unit.splitlines() if not any(w in line.lower() for w in near_miss_words)
    )
    plain = plain_unit * max(1, target_bytes // len(plain_unit))
    custom = Redactor([r"ACME-[0-9]{6}"])
    results = [
        (r.redact_text, clean, "clean log text, many near-misses (token, secret, task-, URLs, curl, -p)"),
        (r.redact_text, plain, "clean log text, few near-misses"),
        (r.redact_text, with_secrets, "log text with 2 secrets per 1.5 KB"),
        (custom.redact_text, clean, "clean near-miss text + 1 custom pattern"),
    ]
    rows = [
        (label, throughput(lambda f=fn, t=text: f(t), len(text), runs), f"{len(text) / 1e6:.1f} MB")
        for fn, text, label in results
    ]

    message = {
        "v": 1,
        "type": "message",
        "seq": 3,
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_01",
                "is_error": False,
                "content": [{"type": "text", "text": c}],
            }
            for c in chunks[:4]
        ],
    }
    n = 2000
    t_obj = median_time(lambda: [r.redact_obj(message) for _ in range(n)], runs) / n
    short = "Reading file src/app.py (1,204 bytes)"
    t_short = median_time(lambda: [r.redact_text(short) for _ in range(20000)], runs) / 20000

    rows += [
        ("redact_obj, clean 6 KB message", f"{t_obj * 1e6:,.1f} µs/call", "returns same object"),
        ("redact_text, short clean string", f"{t_short * 1e6:,.2f} µs/call", f"{len(short)} chars"),
    ]
    md = [
        f"Machine: {machine()}. Medians of {runs} runs (best run in brackets), measured in one run, in",
        "CPU time of the (single-threaded) redactor: on this shared box wall time swings by half between",
        "runs. Throughput counts characters of ASCII text (1 MB = 10^6 chars) per CPU-second.",
        "",
        "| case | result | size |",
        "|---|---|---|",
    ]
    md += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = "\n".join(md)
    print(text)
    if not quick:
        write_section("redaction", "## Redaction\n\n" + text)


if __name__ == "__main__":
    main()
