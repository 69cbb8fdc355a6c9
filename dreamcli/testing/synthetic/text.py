"""Text for the synthetic session generator: realistic tool output of any size, and a pool of one-off
noise (errors, corrections, follow-ups, notes) whose made-up words never recur while the pool lasts."""

from __future__ import annotations

import random

_BANK_RNG = random.Random(20261124)

_PARTIES = ["Customer", "Supplier", "either party", "the Company", "the Consultant", "Buyer", "Seller"]
_TRIGGERS = ["a material breach not cured within {n} days", "insolvency or administration",
             "a change of control", "force majeure lasting more than {n} days", "non-payment of an invoice",
             "convenience", "repeated late deliveries"]
_HEADINGS = ["Definitions", "Services", "Fees and Payment", "Confidentiality", "Term and Termination",
             "Warranties", "Limitation of Liability", "Governing Law", "Notices", "Miscellaneous"]
_STEPS = ["checkout", "restore cache", "install dependencies", "lint", "unit tests", "integration tests",
          "build image", "publish artifacts", "deploy preview"]
_PIPELINES = ["payments-api", "web-frontend", "mobile-bff", "search-indexer", "data-pipeline",
              "auth-service", "notifications-worker"]
_LABS = [("Sodium", "mmol/L", 136, 145), ("Potassium", "mmol/L", 3.5, 5.1), ("Creatinine", "mg/dL", 0.6, 1.2),
         ("eGFR", "mL/min/1.73m2", 60, 120), ("HbA1c", "%", 4.0, 5.6), ("LDL", "mg/dL", 0, 100),
         ("Hemoglobin", "g/dL", 12.0, 16.0), ("TSH", "mIU/L", 0.4, 4.0)]
_MEDS = ["metformin 500 mg twice daily", "atorvastatin 40 mg nightly", "lisinopril 10 mg daily",
         "empagliflozin 10 mg daily", "amlodipine 5 mg daily", "levothyroxine 50 mcg daily"]


def _contract_line(r: random.Random) -> str:
    sec = f"{r.randint(1, 18)}.{r.randint(1, 9)}"
    kind = r.randrange(3)
    if kind == 0:
        trig = r.choice(_TRIGGERS).format(n=r.choice([15, 30, 45, 60, 90]))
        return (f"{sec} {r.choice(_PARTIES)} may terminate this Agreement for {trig} on "
                f"{r.choice([14, 30, 60, 90])} days' written notice to the other party.")
    if kind == 1:
        return f"ARTICLE {r.randint(1, 18)}. {r.choice(_HEADINGS).upper()}"
    return (f"{sec} {r.choice(_PARTIES)} shall {r.choice(['perform', 'deliver', 'maintain', 'invoice'])} the "
            f"{r.choice(['Services', 'Goods', 'Deliverables', 'records'])} in accordance with "
            f"{r.choice(['Schedule A', 'the Statement of Work', 'Section 4', 'applicable law'])} and "
            f"{r.choice(['good industry practice', 'the Service Levels', 'the Specifications'])}.")


def _log_line(r: random.Random) -> str:
    ts = f"2026-10-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z"
    level = r.choices(["INFO", "DEBUG", "WARN"], [8, 3, 1])[0]
    step = r.choice(_STEPS)
    msgs = [f"step {r.randint(1, 9)}/9: {step} ({r.randint(1, 400)}s)",
            f"{r.choice(_PIPELINES)}: {step} cache hit {r.randint(40, 99)}%",
            f"Downloaded {r.choice(['requests', 'lodash', 'guava', 'pytest', 'react'])}-{r.randint(1, 9)}."
            f"{r.randint(0, 30)}.{r.randint(0, 9)} ({r.randint(10, 900)} kB)",
            f"test session starts: {r.randint(20, 900)} items collected",
            f"PASSED tests/test_{r.choice(['orders', 'refunds', 'index', 'auth', 'jobs'])}.py::"
            f"test_case_{r.randint(1, 99)}"]
    return f"{ts} [{level}] {r.choice(msgs)}"


def _records_line(r: random.Random) -> str:
    kind = r.randrange(3)
    if kind == 0:
        name, unit, lo, hi = r.choice(_LABS)
        value = round(r.uniform(lo * 0.8, hi * 1.15), 1)
        flag = " H" if value > hi else (" L" if value < lo else "")
        return f"2025-06-12  {name:<12} {value} {unit} ({lo}-{hi}){flag}"
    if kind == 1:
        return f"- {r.choice(_MEDS)} ({r.choice(['active', 'active', 'discontinued'])})"
    return (f"Plan: {r.choice(['recheck', 'continue', 'follow up on', 'review'])} "
            f"{r.choice(['renal function', 'blood pressure', 'lipids', 'glucose log'])} in "
            f"{r.choice([2, 4, 6, 12])} weeks.")


def _code_line(r: random.Random) -> str:
    name = r.choice(["orders", "invoice", "cache", "worker", "report", "client", "parser"])
    return r.choice([
        f"def handle_{name}(request, *, retries={r.randint(1, 5)}):",
        f"    return {name}_service.fetch(request.id, timeout={r.randint(1, 30)})",
        f"class {name.title()}Repository(BaseRepository):",
        f"    # {r.choice(['TODO', 'NOTE'])}: keep {name} ordering stable across pages",
        f"from app.{name} import {name.title()}Schema",
        f"    assert len({name}_rows) == {r.randint(1, 50)}",
    ])


_BANKS: dict[str, list[str]] = {
    "contract": [_contract_line(_BANK_RNG) for _ in range(600)],
    "log": [_log_line(_BANK_RNG) for _ in range(600)],
    "records": [_records_line(_BANK_RNG) for _ in range(600)],
    "code": [_code_line(_BANK_RNG) for _ in range(600)],
}


def filler(rng: random.Random, kind: str, nbytes: int) -> str:
    """About `nbytes` of realistic output of one kind (contract, log, records, code)."""
    bank = _BANKS[kind]
    k = max(1, nbytes // 90 + 1)
    text = "\n".join(rng.choices(bank, k=k))
    return text[:nbytes]


# --- one-off noise -----------------------------------------------------------------------------

_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "gr", "kl", "pl", "tr",
           "sn", "fl", "dr", "qu"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
_CODAS = ["", "n", "r", "l", "m", "x", "sk", "th", "nd"]

_ERROR_SHAPES = [
    "{a} handler rejected the {b} payload: unsupported {c} mode",
    "cannot resolve {a} {b}: the {c} registry has no such entry",
    "{a} {b} exited early while {c} was still pending",
    "the {a} plugin is not compatible with {b} {c} settings",
]
_CORRECTION_SHAPES = [
    "No, use the {a} {b} layout instead of the {c} one.",
    "Don't mention {a} {b} here; the {c} team handles that.",
    "That's wrong: the {a} figure comes from {b} {c}.",
]
_FOLLOWUP_SHAPES = [
    "Also mention the {a} {b} in the {c} section.",
    "Thanks. Could you add a line about {a} {b} and {c}?",
]
_NOTE_SHAPES = ["The {a} {b} step needed a manual {c} retry this time."]


def _word(r: random.Random) -> str:
    syll = [r.choice(_ONSETS) + r.choice(_VOWELS) for _ in range(r.choice([2, 2, 3]))]
    return "".join(syll) + r.choice(_CODAS)


class NoisePool:
    """Made-up words drawn without replacement (then recycled), so small corpora have truly one-off
    noise: no two noise items share a word until the pool of ~900 words runs out."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        words: set[str] = set()
        while len(words) < 900:
            w = _word(rng)
            if len(w) >= 5:
                words.add(w)
        self.words = sorted(words)
        rng.shuffle(self.words)
        self.used: list[str] = []
        self._next = 0

    def _take(self, n: int) -> list[str]:
        out = []
        for _ in range(n):
            if self._next < len(self.words):
                w = self.words[self._next]
                self._next += 1
                self.used.append(w)
            else:
                w = self.rng.choice(self.words)
            out.append(w)
        return out

    def _fill(self, shapes: list[str]) -> str:
        a, b, c = self._take(3)
        return self.rng.choice(shapes).format(a=a, b=b, c=c)

    def error(self) -> str:
        return self._fill(_ERROR_SHAPES)

    def correction(self) -> str:
        return self._fill(_CORRECTION_SHAPES)

    def followup(self) -> str:
        return self._fill(_FOLLOWUP_SHAPES)

    def note(self) -> tuple[str, str]:
        a, b, c = self._take(3)
        return f"/memories/notes/{a}.md", self.rng.choice(_NOTE_SHAPES).format(a=a, b=b, c=c) + "\n"
