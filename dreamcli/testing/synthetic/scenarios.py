"""Scenarios of the synthetic generator: one function per kind of episode, each returning the number
of session files it wrote. Planted patterns are recorded with `session.plant(key)`:

    docx-read-fails, docx-unzip, docx-pandoc      read fails on .docx; a conversion fixes it
    pdf-read-fails, pdf-pdftotext                 read fails on .pdf; pdftotext fixes it
    citation-correction                           the user corrects the citation style
    criterion-<id>                                a graded run fails criterion <id> (e.g. cites-sections,
                                                  stopped-drugs-not-active, egfr-flagged-low, names-oom)
    grep-gz-zgrep                                 a sub-agent's grep misses .log.gz; zgrep finds it
    cost-outlier                                  a triage lead cats whole logs (many times the median cost)
    loop-grep-egfr                                the same grep repeated three times or more
    memory-med-list                               the agent writes the same memory note again
"""

from __future__ import annotations

from collections.abc import Callable

from dreamcli.testing.synthetic.session import Generator, SimSession

CONTRACT_PROMPT = ("List every termination clause in every contract of this folder with its section number "
                   "in summary.md.")
TRIAGE_PROMPT = ("Triage this week's CI logs under logs/: delegate batches to sub-agents, then group failures "
                 "that share a root cause and write triage.md.")
MEDICAL_PROMPT = ("Review the records/ of the synthetic patient and write summary.json with current medications, "
                  "abnormal labs, diagnoses and follow-up.")
_COMPANIES = ["northwind", "bluefin", "oakridge", "harbor", "larkspur", "meridian", "copperline", "tidewater",
              "redwood", "summit", "falcon", "granite"]
_KINDS = ["msa", "nda", "supply-agreement", "lease", "services-agreement", "license"]
_CITATION = [
    "Please cite clauses by section number (e.g. § 12.3), not by page.",
    "No, cite each clause by its section number, not the page number.",
    "Cite by section number please, not by page.",
    "Again: section numbers, not page numbers, when citing clauses.",
]
_CITE_REASONS = ["clause {s} is cited by page (p. {p}), not by its section number",
                 "termination right {s} is referenced as 'page {p}' instead of its section"]
_MED_NOTE = ("The exported medication list (medications-list.txt) can be out of date: take each drug's status "
             "and dose from the latest visit note.\n")
_MED_NOTE_DUP = ("The exported medications-list.txt can be stale; take each drug's status and dose from the "
                 "latest visit note.\n")


def _contract_file(s: SimSession, ext: str) -> str:
    return f"{s.rng.choice(_KINDS)}-{s.rng.choice(_COMPANIES)}-{s.rng.randint(2019, 2025)}.{ext}"


def _noise_error(s: SimSession) -> None:
    """A one-off failure and the unrelated call that follows it."""
    gen = s.gen
    tool = s.rng.choice(["bash", "write", "read"])
    inp = ({"command": "make " + gen.noise.words[s.rng.randrange(len(gen.noise.words))]} if tool == "bash"
           else {"file_path": "notes.md"})
    s.call(tool, inp, gen.noise.error(), error="exit_nonzero" if tool == "bash" else "exception",
           exit_code=2 if tool == "bash" else None)
    s.call("bash", {"command": "ls -la"}, "total 12\ndrwx------ 2 ana ana 4096 .\n-rw------- 1 ana ana 812 notes.md")


def _context(gen: Generator, playbook: str) -> list[dict[str, object]]:
    ids = gen.cfg.context_entries.get(playbook)
    return [{"playbook": playbook, "version": 1, "entry_ids": list(ids)}] if ids else []


def contract_review(gen: Generator, index: int, remaining: int) -> int:
    s = gen.new_session(gen.session_time(index), task={"name": "contract-review", "prompt": CONTRACT_PROMPT},
                        workdir="/home/ana/contracts", tags=["legal"], playbooks=_context(gen, "legal"))
    r = s.rng
    files = [_contract_file(s, "txt")]
    if r.random() < 0.7:
        files.append(_contract_file(s, "docx"))
    if r.random() < 0.5:
        files.append(_contract_file(s, "pdf"))
    if r.random() < 0.3:
        files.append(_contract_file(s, "docx"))
    r.shuffle(files)
    s.user(CONTRACT_PROMPT)
    s.call("glob", {"pattern": "*"}, "\n".join(sorted(files)), text="I'll list the contracts first.")
    for f in files:
        ext = f.rsplit(".", 1)[1]
        if ext == "txt":
            s.call("read", {"file_path": f}, s.body("contract"))
            continue
        if ext == "docx":
            s.call("read", {"file_path": f}, f"{f} is a binary file (zip archive); cannot read as text",
                   error="exception")
            s.plant("docx-read-fails")
            if r.random() < 0.8:
                cmd, key = f"unzip -p {f} word/document.xml | sed -e 's/<[^>]*>/ /g'", "docx-unzip"
            else:
                cmd, key = f"pandoc -t plain {f}", "docx-pandoc"
        else:
            s.call("read", {"file_path": f},
                   f"{f} is a binary file (PDF document, version 1.{r.randint(3, 7)}); cannot read as text",
                   error="exception")
            s.plant("pdf-read-fails")
            cmd, key = f"pdftotext -layout {f} -", "pdf-pdftotext"
        if r.random() < 0.1:  # sometimes the agent gives up on the file
            continue
        s.call("bash", {"command": cmd}, s.body("contract"), exit_code=0, text="The file is binary; converting it.")
        s.plant(key)
    if r.random() < 0.3:
        _noise_error(s)
    s.call("write", {"file_path": "summary.md", "content": "# Termination clauses\n\n" + s.body("contract", 0.1)},
           "wrote summary.md")
    s.assistant(f"summary.md lists the termination clauses of {len(files)} contracts.")
    corrected = r.random() < 0.35
    if corrected:
        s.user(r.choice(_CITATION))
        s.plant("citation-correction")
        s.call("write", {"file_path": "summary.md", "content": "# Termination clauses\n\n" + s.body("contract", 0.1)},
               "wrote summary.md")
        s.assistant("Updated summary.md: every clause is now cited by its section number.")
    if r.random() < 0.12:
        s.user(gen.noise.correction())
        s.assistant("Done.")
    elif r.random() < 0.12:
        s.user(gen.noise.followup())
        s.assistant("Added.")
    if r.random() < 0.75:
        fails = r.random() < (0.55 if corrected else 0.3)
        reason = r.choice(_CITE_REASONS).format(s=f"{r.randint(3, 17)}.{r.randint(1, 6)}", p=r.randint(2, 30))
        criteria = [
            {"id": "cites-sections", "passed": not fails, "reason": reason if fails else "every clause has its section",
             "evidence": "", "weight": 2, "kind": "grader"},
            {"id": "complete", "passed": r.random() < 0.9, "reason": "", "evidence": "", "weight": 2, "kind": "grader"},
            {"id": "summary-written", "passed": True, "reason": "summary.md exists", "evidence": "", "weight": 1,
             "kind": "check"},
        ]
        gen.grade(s, "contract-review", criteria, 0.85)
    s.end()
    return 1


def build_log_triage(gen: Generator, index: int, remaining: int) -> int:
    lead = gen.new_session(gen.session_time(index), task={"name": "build-log-triage", "prompt": TRIAGE_PROMPT},
                           workdir="/srv/ci", tags=["ci"], playbooks=_context(gen, "ci-triage"))
    r = lead.rng
    lead.user(TRIAGE_PROMPT)
    lead.call("bash", {"command": "ls logs/"}, "\n".join(f"{p}/" for p in r.sample(
        ["payments-api", "web-frontend", "mobile-bff", "search-indexer", "data-pipeline", "auth-service"], 4)))
    if r.random() < 0.25:  # the costly way: read everything into context
        lead.call("bash", {"command": "cat logs/*/*.log*"}, lead.body("log", 0.5), truncated=True, exit_code=0)
        lead.cost_factor = 9.0
        lead.plant("cost-outlier")
    gz = r.random() < 0.8
    n_subs = min(remaining - 1, r.randint(2, 3))
    for n in range(n_subs):
        pipeline = r.choice(["payments-api", "web-frontend", "mobile-bff", "search-indexer", "data-pipeline"])
        brief = f"Triage the {pipeline} logs under logs/{pipeline}/: failing step and error line per failed job."
        tool_id = lead.assistant(None if n else "Splitting the logs by pipeline.", ("delegate", {"brief": brief}))
        assert tool_id is not None
        child = gen.new_session(lead.t + 50, episode=lead.episode, parent_session_id=lead.sid,
                                task={"name": "build-log-triage", "prompt": brief}, workdir="/srv/ci", tags=["ci"],
                                agent="log-triage-worker")
        lead.subagent("started", child.sid, brief)
        child.user(brief)
        pattern = r.choice(["ERROR|FAILED", "OOMKilled|exit code 137", "Read timed out|ETIMEDOUT"])
        if gz:
            child.call("bash", {"command": f'grep -rn -E "{pattern}" logs/{pipeline}/'},
                       "(no output; exit code 1)", error="exit_nonzero", exit_code=1)
            child.call("bash", {"command": f'zgrep -n -E "{pattern}" logs/{pipeline}/*.log.gz'},
                       child.body("log", 0.6), exit_code=0, text="The logs are gzipped; searching inside them.")
            child.plant("grep-gz-zgrep")
        else:
            child.call("bash", {"command": f'grep -rn -E "{pattern}" logs/{pipeline}/'}, child.body("log", 0.6),
                       exit_code=0)
        if r.random() < 0.15:
            _noise_error(child)
        found = f"{pipeline}: {r.randint(1, 4)} failed jobs, failing steps and error lines listed."
        child.assistant(found)
        child.end()
        lead.t = max(lead.t, child.t) + 20
        lead.subagent("finished", child.sid, brief, status="completed")
        lead.result(tool_id, "delegate", found)
    if r.random() < 0.25:
        _noise_error(lead)
    lead.call("write", {"file_path": "triage.md", "content": "# Build log triage\n\n" + lead.body("log", 0.2)},
              "wrote triage.md")
    lead.assistant(f"Found {r.randint(3, 6)} recurring patterns; see triage.md.")
    if r.random() < 0.6:
        criteria = [{"id": "names-oom", "passed": r.random() < 0.85, "reason": "", "evidence": "", "weight": 1,
                     "kind": "check"},
                    {"id": "one-off-section", "passed": True, "reason": "", "evidence": "", "weight": 1,
                     "kind": "check"}]
        gen.grade(lead, "build-log-triage", criteria, 0.85)
    lead.end()
    return 1 + n_subs


def medical_summary(gen: Generator, index: int, remaining: int) -> int:
    s = gen.new_session(gen.session_time(index), task={"name": "medical-summary", "prompt": MEDICAL_PROMPT},
                        workdir="/home/ana/medical", tags=["medical"], playbooks=_context(gen, "medical"))
    r = s.rng
    s.user(MEDICAL_PROMPT)
    remembered = r.random() < 0.45
    if remembered:
        s.call("memory", {"command": "view", "path": "/memories"}, "/memories\n(empty)")
    for f in ["records/visit-2025-03-04.txt", "records/visit-2025-06-18.txt", "records/labs-2025-06-12.txt",
              "records/medications-list.txt"]:
        s.call("read", {"file_path": f}, s.body("records", 0.2))
    if r.random() < 0.35:
        cmd = 'grep -n -i "egfr" records/labs-2025-06-12.txt'
        out = "14:2025-06-12  eGFR         52 mL/min/1.73m2 (60-120) L"
        for _ in range(r.randint(3, 4)):
            s.call("bash", {"command": cmd}, out, exit_code=0)
        s.plant("loop-grep-egfr")
    if r.random() < 0.3:
        _noise_error(s)
    s.call("write", {"file_path": "summary.json", "content": '{"patient_id": "SYN-0042"}'}, "wrote summary.json")
    if remembered:
        dup = r.random() < 0.2
        path = "/memories/medical/med-list-is-stale.md" if dup else "/memories/medical-summary/medication-lists.md"
        text = _MED_NOTE_DUP if dup else _MED_NOTE
        s.call("memory", {"command": "create", "path": path, "file_text": text}, f"File created successfully at {path}")
        gen.remember(path, text, s.t)
        s.plant("memory-med-list")
    if r.random() < 0.08:
        path, text = gen.noise.note()
        s.call("memory", {"command": "create", "path": path, "file_text": text}, f"File created successfully at {path}")
        gen.remember(path, text, s.t)
    if r.random() < 0.1:
        s.user(gen.noise.correction())
        s.assistant("Understood, fixed.")
    s.assistant("Current medications, abnormal results and follow-up are in summary.json.")
    if r.random() < 0.8:
        stale = r.random() < 0.45
        criteria = [
            {"id": "stopped-drugs-not-active", "passed": not stale, "weight": 1, "kind": "check", "evidence": "",
             "reason": "metformin is listed as active although the latest visit note stopped it" if stale else ""},
            {"id": "egfr-flagged-low", "passed": r.random() < 0.9, "reason": "", "evidence": "", "weight": 1,
             "kind": "check"},
            {"id": "summary-valid", "passed": True, "reason": "", "evidence": "", "weight": 1, "kind": "check"},
        ]
        gen.grade(s, "medical-summary", criteria, 1.0)
    s.end()
    return 1


def misc(gen: Generator, index: int, remaining: int) -> int:
    r = gen.rng
    task = r.choice(["release-notes", "rename-module", "draft-email", "sql-report", "fix-flaky-test"])
    s = gen.new_session(gen.session_time(index), task={"name": task, "prompt": f"Please do the {task} task."},
                        workdir="/home/ana/app", tags=["misc"])
    s.user(f"Please do the {task} task.")
    s.call("read", {"file_path": "app/service.py"}, s.body("code", 0.5))
    if r.random() < 0.8:
        _noise_error(s)
    if r.random() < 0.3:
        s.user(gen.noise.followup())
    s.call("write", {"file_path": "OUT.md", "content": s.body("code", 0.3)}, "wrote OUT.md")
    s.assistant("Done.")
    s.end("interrupted" if r.random() < 0.05 else "completed")
    return 1


SCENARIOS: dict[str, Callable[[Generator, int, int], int]] = {
    "contract-review": contract_review,
    "build-log-triage": build_log_triage,
    "medical-summary": medical_summary,
    "misc": misc,
}
