"""The sample tasks, outcome specs and their inputs are well-formed and internally consistent.

Covers outcome specs (docs/outcomes.md) and task files (docs/task-files.md) field shapes, the binary contract inputs
(a real .docx and .pdf that a naive text read gets wrong), the planted build-log patterns, generator
determinism, and that each outcome's deterministic checks pass its good example and fail its bad ones. The
checks are validated and run by the product's own code (dreamcli/outcomes/spec.py and checks.py), never by a
copy here, so a new check type needs nothing in this file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from dreamcli.outcomes.check_types import BUDGETS
from dreamcli.outcomes.checks import run_criterion_check
from dreamcli.outcomes.evidence import RunView
from dreamcli.outcomes.spec import load_spec
from tests.support.paths import REPO

ROOT = REPO
TASKS = ROOT / "sample_tasks"
OUTCOMES = ROOT / "sample_outcomes"
CONTRACTS = TASKS / "contract-review" / "contracts"
LOGS = TASKS / "build-log-triage" / "logs"

TASK_FILES = sorted(TASKS.glob("*.yaml"))
OUTCOME_FILES = sorted(OUTCOMES.glob("*.yaml"))
TOOLS = {"bash", "read", "write", "edit", "glob", "grep", "memory", "delegate"}
CONTRACT_SUFFIXES = {".docx", ".pdf", ".txt"}  # an agent run may leave summary.md next to them
W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def contract_files() -> list[Path]:
    return sorted(p for p in CONTRACTS.iterdir() if p.suffix in CONTRACT_SUFFIXES)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


# ---------------------------------------------------------------- task files (docs/task-files.md)


def test_expected_samples_exist() -> None:
    names = {p.stem for p in TASK_FILES}
    assert {"contract-review", "medical-summary", "build-log-triage", "refund-policy"} <= names
    assert {p.stem for p in OUTCOME_FILES} >= names


@pytest.mark.parametrize("path", TASK_FILES, ids=lambda p: p.stem)
def test_task_file_shape(path: Path) -> None:
    task = load(path)
    allowed = {"name", "prompt", "workdir", "outcome", "playbook", "tools", "model", "max_turns", "tags",
               "copy_workdir"}
    assert set(task) <= allowed, set(task) - allowed
    assert task["name"] == path.stem
    assert isinstance(task["prompt"], str) and len(task["prompt"]) > 100
    assert isinstance(task["playbook"], str) and re.fullmatch(r"[a-z0-9][a-z0-9-]*", task["playbook"])
    assert isinstance(task["tools"], list) and set(task["tools"]) <= TOOLS and task["tools"]
    assert isinstance(task["max_turns"], int) and 1 <= task["max_turns"] <= 1000
    assert isinstance(task["tags"], list) and all(isinstance(t, str) for t in task["tags"])
    assert "model" not in task or isinstance(task["model"], str)
    assert task.get("copy_workdir") is True  # a sample run never writes into the checkout (issue 20)


@pytest.mark.parametrize("path", TASK_FILES, ids=lambda p: p.stem)
def test_task_paths_resolve_relative_to_task_file(path: Path) -> None:
    task = load(path)
    workdir = path.parent / task["workdir"]
    assert workdir.is_dir(), workdir
    outcome = (path.parent / task["outcome"]).resolve()
    assert outcome.is_file() and outcome.parent == OUTCOMES
    assert load(outcome)["name"] == task["name"]
    # The workdir holds only inputs: no generator script whose source would give the answer away.
    assert not list(workdir.rglob("*.py"))


def test_build_log_triage_is_multi_agent() -> None:
    task = load(TASKS / "build-log-triage.yaml")
    assert "multi-agent" in task["tags"] and "delegate" in task["tools"]


# ---------------------------------------------------------------- outcome specs (docs/outcomes.md)


@pytest.mark.parametrize("path", OUTCOME_FILES, ids=lambda p: p.stem)
def test_outcome_spec_shape(path: Path) -> None:
    spec = load(path)
    allowed = {"name", "description", "criteria", "examples", "pass_threshold", "max_iterations", "grader"}
    assert set(spec) <= allowed, set(spec) - allowed
    assert spec["name"] == path.stem
    assert isinstance(spec["description"], str) and spec["description"].strip()
    assert 0 < spec.get("pass_threshold", 1.0) <= 1
    assert isinstance(spec.get("max_iterations", 3), int) and 1 <= spec.get("max_iterations", 3) <= 20
    assert "grader" not in spec or isinstance(spec["grader"], str)
    ids = [c["id"] for c in spec["criteria"]]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", i) for i in ids)
    kinds = {"grader": 0, "check": 0}
    for crit in spec["criteria"]:
        assert set(crit) <= {"id", "description", "check", "weight"}, crit
        assert "description" in crit or "check" in crit, crit["id"]
        weight = crit.get("weight", 1)
        assert isinstance(weight, int | float) and weight > 0
        kinds["check" if "check" in crit else "grader"] += 1
    assert kinds["grader"] >= 2 and kinds["check"] >= 3  # what each check holds: the product's loader, below
    labels = [e["label"] for e in spec["examples"]]
    assert set(labels) == {"good", "bad"}
    for example in spec["examples"]:
        assert set(example) == {"label", "output", "why"}
        assert example["output"].strip() and example["why"].strip()


def test_examples_cite_real_inputs() -> None:
    good = next(e for e in load(OUTCOMES / "build-log-triage.yaml")["examples"] if e["label"] == "good")
    cited = set(re.findall(r"[a-z-]+-\d+\.log", good["output"]))
    assert len(cited) == 24 and cited <= {p.name for p in LOGS.glob("*.log")}
    good = next(e for e in load(OUTCOMES / "contract-review.yaml")["examples"] if e["label"] == "good")
    assert set(re.findall(r"^## (\S+)$", good["output"], re.M)) == {p.name for p in contract_files()}
    good = next(e for e in load(OUTCOMES / "refund-policy.yaml")["examples"] if e["label"] == "good")
    tickets = [d["ticket"] for d in json.loads(good["output"])["decisions"]]
    assert tickets == sorted(p.stem for p in (TASKS / "refund-policy" / "tickets").glob("*.txt"))


def test_medical_good_example_matches_records() -> None:
    spec = load(OUTCOMES / "medical-summary.yaml")
    good = json.loads(next(e for e in spec["examples"] if e["label"] == "good")["output"])
    records = TASKS / "medical-summary" / "records"
    assert set(good["sources"]) == {p.name for p in records.iterdir()}
    labs = (records / "labs-2025-06-12.txt").read_text(encoding="utf-8")
    for lab in good["abnormal_labs"]:
        assert re.search(rf"^{re.escape(lab['test'].split(' (')[0])}.*\s{lab['value']}\s", labs, re.M), lab
    for text in (p.read_text(encoding="utf-8") for p in records.iterdir()):
        assert text.startswith("SYNTHETIC RECORD")


def test_markdown_rubric_simple_form() -> None:
    text = (OUTCOMES / "medical-summary-rubric.md").read_text(encoding="utf-8")
    blocks = text.strip().split("\n\n")
    assert re.fullmatch(r"# \S.*", blocks[0])
    assert not blocks[1].startswith(("#", "- "))
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(bullets) >= 4
    weights = [int(m) for b in bullets for m in re.findall(r"\(weight (\d+)\)$", b)]
    assert weights and all(w >= 1 for w in weights)


# ---------------------------------------------------------------- contract-review inputs


def docx_text(data: bytes) -> str:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        root = ElementTree.fromstring(zf.read("word/document.xml"))
    return "\n".join("".join(t.text or "" for t in p.iter(f"{W_NS}t")) for p in root.iter(f"{W_NS}p"))


def pdf_streams(data: bytes) -> list[str]:
    raw = re.findall(rb"stream\n(.*?)\nendstream", data, re.S)
    return [zlib.decompress(m).decode("latin-1") for m in raw]


@pytest.mark.parametrize(
    ("name", "clause"),
    [("msa-northwind-2025.docx", "17.4 Change of Control"), ("nda-bluefin-2024.docx", "7.2 Termination")],
)
def test_docx_is_a_real_word_package(name: str, clause: str) -> None:
    path = CONTRACTS / name
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
        assert {"[Content_Types].xml", "_rels/.rels", "word/document.xml"} <= names
        assert b"officeDocument" in zf.read("_rels/.rels")
        xml = zf.read("word/document.xml").decode("utf-8")
    assert "may terminate this Agreement" in xml
    assert clause in docx_text(path.read_bytes()).splitlines()


def test_pdf_is_a_real_pdf_with_a_compressed_text_stream() -> None:
    data = (CONTRACTS / "supply-agreement-oakridge.pdf").read_bytes()
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    start = int(re.search(rb"startxref\n(\d+)\n", data).group(1))
    assert data[start:].startswith(b"xref\n")
    offsets = [int(o) for o in re.findall(rb"^(\d{10}) 00000 n ", data, re.M)]
    for number, off in enumerate(offsets, start=1):
        assert data[off:].startswith(f"{number} 0 obj".encode())
    text = "\n".join(pdf_streams(data))
    assert "(15.6  Prolonged Force Majeure) Tj" in text and "(8.3  Termination for Late Delivery) Tj" in text
    assert b"/FlateDecode" in data and b"Force Majeure" not in data


@pytest.mark.parametrize("name", ["msa-northwind-2025.docx", "supply-agreement-oakridge.pdf"])
def test_naive_text_read_of_binary_contracts_fails(name: str) -> None:
    data = (CONTRACTS / name).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    lossy = data.decode("utf-8", errors="replace")
    assert "\ufffd" in lossy and "terminate" not in lossy


def test_txt_contract_is_plain_text() -> None:
    text = (CONTRACTS / "consulting-agreement-reyes.txt").read_text(encoding="utf-8")
    assert "3.4  Non-Payment" in text and "6.2  Termination for Breach of Confidentiality" in text


# ---------------------------------------------------------------- build-log-triage inputs

PATTERNS = {
    "timeout": r"Read timed out|ETIMEDOUT",
    "oom": r"exit code 137 \(OOMKilled\)",
    "lint": r"UP017",
    "env": r"Missing required environment variable: SENTRY_AUTH_TOKEN",
    "snapshot": r"snapshot failed",
}
ONE_OFFS = [r"no space left on device", r"toomanyrequests", r"canceled by user", r"AssertionError"]


def test_build_logs_plant_recurring_patterns_and_noise() -> None:
    logs = {p.name: p.read_text(encoding="utf-8") for p in LOGS.glob("*.log")}
    assert len(logs) >= 24 and len({name.rsplit("-", 1)[0] for name in logs}) >= 6
    for pattern in PATTERNS.values():
        hits = [name for name, text in logs.items() if re.search(pattern, text)]
        assert len(hits) >= 3, pattern
        assert len({name.rsplit("-", 1)[0] for name in hits}) >= 2, pattern
    for pattern in ONE_OFFS:
        assert sum(bool(re.search(pattern, text)) for text in logs.values()) == 1, pattern
    passing = [n for n, t in logs.items() if t.rstrip().endswith("Job succeeded")]
    assert len(passing) >= 5
    for text in logs.values():  # every job ends with a verdict, every failure matches exactly one cause
        assert text.rstrip().endswith("Job succeeded") or "ERROR: Job failed" in text
        causes = [p for p in [*PATTERNS.values(), *ONE_OFFS] if re.search(p, text)]
        assert len(causes) == (0 if text.rstrip().endswith("Job succeeded") else 1)


def test_sample_inputs_are_small() -> None:
    total = sum(p.stat().st_size for p in TASKS.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total < 300_000


# ---------------------------------------------------------------- generators are deterministic


def run_generator(script: Path, outdir: Path) -> dict[str, bytes]:
    subprocess.run([sys.executable, str(script), str(outdir)], check=True, capture_output=True, timeout=60)
    return {p.name: p.read_bytes() for p in sorted(outdir.iterdir())}


def test_make_logs_is_deterministic_and_matches_committed_logs(tmp_path: Path) -> None:
    script = TASKS / "build-log-triage" / "make_logs.py"
    first = run_generator(script, tmp_path / "a")
    assert first == run_generator(script, tmp_path / "b")
    assert first == {p.name: p.read_bytes() for p in sorted(LOGS.glob("*.log"))}


def test_make_inputs_is_deterministic_and_matches_committed_contracts(tmp_path: Path) -> None:
    script = TASKS / "contract-review" / "make_inputs.py"
    first = run_generator(script, tmp_path / "a")
    assert first == run_generator(script, tmp_path / "b")
    committed = {p.name: p.read_bytes() for p in contract_files()}
    assert first.keys() == committed.keys()
    # Compare decoded content: deflate bytes may differ between zlib builds, the documents may not.
    for name, data in first.items():
        if name.endswith(".docx"):
            assert docx_text(data) == docx_text(committed[name])
        elif name.endswith(".pdf"):
            assert pdf_streams(data) == pdf_streams(committed[name])
        else:
            assert data == committed[name]


# ---------------------------------------------------------------- the product's own spec loader and checks


SPEC_FILES = [*OUTCOME_FILES, OUTCOMES / "medical-summary-rubric.md"]


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_samples_validate_with_dreamcli_spec_loader(path: Path) -> None:
    """Each check is validated by the product's own loader (a type it does not know fails here, named)."""
    spec = load_spec(path)
    assert spec.name == path.stem.removesuffix("-rubric") and spec.criteria


@pytest.mark.parametrize("path", OUTCOME_FILES, ids=lambda p: p.stem)
def test_good_examples_pass_and_bad_examples_fail_deterministic_checks(path: Path, tmp_path: Path) -> None:
    """The product's own check runner passes each good example and fails each bad one, with `output` as both
    the final answer and the content of every file the checks name. Budget checks need a session: left out."""
    spec = load_spec(path)
    content = [c for c in spec.criteria if c.check is not None and c.check.type not in BUDGETS]
    for i, example in enumerate(load(path)["examples"]):
        workdir = tmp_path / f"example-{i}"
        workdir.mkdir()
        for c in content:
            assert c.check is not None
            if not c.check.target_is_answer:
                (workdir / c.check.in_).write_text(example["output"], encoding="utf-8")
        run = RunView(session_id=f"example-{i}", workdir=str(workdir), final_answer=example["output"])
        failed = [c.id for c in content if not run_criterion_check(c, run).passed]
        if example["label"] == "good":
            assert not failed, f"good example {i} fails {failed}"
        else:
            assert failed, f"bad example {i} passes every deterministic check"


def test_bundled_sample_sessions_tell_the_sample_tasks_stories() -> None:
    """The sessions `init --with-samples` installs are these tasks' stories, with their real errors and fixes."""
    from dreamcli.sessions.samples import samples_dir

    logs = [p.read_text(encoding="utf-8") for p in (samples_dir() / "sessions").glob("*.jsonl")]
    tasks = [json.loads(log.splitlines()[0])["task"]["name"] for log in logs]
    assert {t: tasks.count(t) for t in ("contract-review", "medical-summary")} == {"contract-review": 11,
                                                                                  "medical-summary": 9}
    text = "\n".join(logs)
    for step in ("unzip -p", "antiword", "pdftotext -layout", "zgrep", "not valid UTF-8", "SYN-0042"):
        assert step in text, step
    assert "REFERENCE.md" not in text and "Please do the" not in text  # no filler, no placeholder tasks
