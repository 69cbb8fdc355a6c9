"""The stories behind the bundled sample sessions (`dreamcli init --with-samples`): one legal, one
medical and one platform team, told as realistic sessions, so the README's first command
(`dream --offline`) proposes entries a reader recognises. Built on the synthetic generator's session
writer (`Generator`, `SimSession`): valid v1 logs, grades and memory notes, deterministic per seed.

- contract-review (a legal team): `read` cannot open Word files (.docx: not UTF-8; legacy .doc too)
  nor scanned PDFs over the read limit; the agent converts them with a shell tool (unzip or pandoc,
  antiword, pdftotext). Users keep asking for clauses cited by section number, not by page, and the
  grader's `cites-sections` criterion keeps failing for the same reason.
- medical-summary (medical review graded by a rubric): the exported medication list lags behind the
  latest visit note (ibuprofen stopped, atorvastatin raised), the lab report does not flag the
  calculated eGFR; the rubric catches both, the agent notes the stale list in memory.
- build-log-triage (CI logs across pipelines): a lead delegates one pipeline per sub-agent; the
  archived logs are gzipped, so grep finds nothing until zgrep; two leads read every log whole.
- one-offs (refund decisions, release notes, a metrics script): errors and requests that happen
  once and must not become playbook entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from dreamcli.testing.sample_one_offs import ONE_OFFS
from dreamcli.testing.synthetic.session import Generator


class StoryGenerator(Generator):
    """The synthetic generator's state plus what the stories count across sessions."""

    cost_outliers = 0
    one_offs = 0
    medical = 0
    contracts = 0

CONTRACT_PROMPT = ("List every termination clause in every contract in this folder, with the party that may "
                   "terminate, the trigger and the notice period, cited by section number, in summary.md.")
MEDICAL_PROMPT = ("Review records/ for patient SYN-0042 and write summary.json: current medications with doses, "
                  "abnormal labs, active diagnoses and the follow-up plan.")
TRIAGE_PROMPT = ("Triage last week's failed CI jobs under logs/ (one folder per pipeline): give each pipeline to a "
                 "sub-agent, group the failures by root cause and write triage.md.")

# name -> (title, [(section, heading, clause)]); the text a conversion or a plain read returns
CONTRACTS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "consulting-agreement-reyes.txt": ("CONSULTING AGREEMENT", [
        ("3.4", "Non-Payment", "The Consultant may terminate this Agreement on 15 days' written notice if any "
                               "undisputed invoice remains unpaid 45 days after its due date."),
        ("6.2", "Termination for Breach of Confidentiality",
         "The Company may terminate this Agreement with immediate effect if the Consultant breaches Section 6.1.")]),
    "sow-brightline-2024.txt": ("STATEMENT OF WORK No. 7", [
        ("9.1", "Termination for Convenience", "Customer may terminate this SOW for convenience on 30 days' written "
                                               "notice, paying for Services performed up to the termination date.")]),
    "msa-northwind-2025.docx": ("MASTER SERVICES AGREEMENT", [
        ("12.2", "Termination for Cause", "Either party may terminate this Agreement if the other commits a material "
                                          "breach not cured within 30 days of written notice."),
        ("17.4", "Change of Control", "Customer may terminate this Agreement on 60 days' written notice after a "
                                      "change of control of Supplier.")]),
    "nda-bluefin-2024.docx": ("MUTUAL NON-DISCLOSURE AGREEMENT", [
        ("7.2", "Termination", "Either party may terminate this Agreement at any time on 30 days' written notice; "
                               "Section 4 survives for three years.")]),
    "services-agreement-meridian-2024.docx": ("SERVICES AGREEMENT", [
        ("14.1", "Insolvency", "Either party may terminate this Agreement immediately if the other becomes "
                               "insolvent or enters administration."),
        ("14.3", "Service Level Failure", "Customer may terminate on 10 days' notice after three Critical Service "
                                          "Level failures in any rolling six months.")]),
    "dpa-tidewater-2025.docx": ("DATA PROCESSING ADDENDUM", [
        ("11.3", "Termination", "Controller may terminate the Agreement if Processor fails to remedy a breach of "
                                "this Addendum within 14 days.")]),
    "lease-granite-street-2011.doc": ("LEASE OF RETAIL PREMISES, 14 GRANITE STREET", [
        ("21.1", "Forfeiture", "The Landlord may re-enter and end this Lease if rent is unpaid for 21 days after "
                               "it is due."),
        ("21.5", "Tenant Break Option", "The Tenant may end this Lease on 30 June 2026 by giving not less than six "
                                        "months' written notice.")]),
    "distribution-agreement-falcon-2009.doc": ("EXCLUSIVE DISTRIBUTION AGREEMENT", [
        ("18.2", "Minimum Purchase Shortfall", "Supplier may terminate on 90 days' notice if Distributor misses "
                                               "the Minimum Purchase Commitment two years running.")]),
    "supply-agreement-oakridge-2023.pdf": ("SUPPLY AGREEMENT (executed copy with exhibits)", [
        ("8.3", "Termination for Late Delivery", "Buyer may terminate any Order, or this Agreement, if three "
                                                 "deliveries in a quarter are more than 10 days late."),
        ("15.6", "Prolonged Force Majeure", "Either party may terminate on 14 days' notice if a Force Majeure Event "
                                            "lasts more than 90 days.")]),
    "msa-redwood-2021-executed.pdf": ("MASTER SUPPLY AGREEMENT (scanned, executed)", [
        ("19.1", "Termination for Convenience", "Buyer may terminate this Agreement for convenience on 120 days' "
                                                "written notice.")]),
}
_PAGES = {"3.4": 2, "6.2": 4, "9.1": 3, "12.2": 9, "17.4": 14, "7.2": 3, "14.1": 11, "14.3": 12, "11.3": 6,
          "21.1": 17, "21.5": 18, "18.2": 22, "8.3": 7, "15.6": 19, "19.1": 31}
_CITATION = [
    "Please cite each clause by its section number (e.g. § 17.4), not by the page it is on.",
    "Cite clauses by section number, not by page: page numbers change with every print.",
    "Again, section numbers please, not page numbers, when you cite clauses.",
    "No page references: cite by section number (§ 12.2), the way the contracts do.",
]
_MED_NOTE = ("medications-list.txt is an export that lags behind the visit notes (last reconciled 2025-03-04): "
             "take each drug's status and dose from the latest visit note's PLAN.\n")
_MED_NOTE_DUP = ("medications-list.txt lags behind the visit notes: take each drug's status and dose from the latest "
                 "visit note.\n")
_CI_NOTE = ("ci-runner-07 ran out of disk during the 2026-10-02 nightly; ops cleaned /var/lib/docker the same "
            "day.\n")
_PIPELINES = ["payments-api", "web-frontend", "search-indexer", "mobile-bff", "data-pipeline", "auth-service"]
_CAUSES = {
    "payments-api": ("integration tests", "ERROR  ReadTimeout: HTTPSConnectionPool(host='mirror.internal', "
                                          "port=443): Read timed out. (read timeout=30)"),
    "web-frontend": ("unit tests", "FAIL src/checkout/Cart.test.tsx: 1 snapshot failed"),
    "search-indexer": ("build image", "ERROR: process \"/bin/sh -c ./gradlew shadowJar\" did not complete "
                                      "successfully: exit code 137 (OOMKilled)"),
    "mobile-bff": ("deploy preview", "Error: Missing required environment variable: SENTRY_AUTH_TOKEN"),
    "data-pipeline": ("lint", "src/etl/load.py:41:22: UP017 Use `datetime.UTC` alias"),
    "auth-service": ("integration tests", "ERROR  connect ETIMEDOUT 10.20.4.17:5432"),
}


def _text(name: str) -> str:
    title, clauses = CONTRACTS[name]
    body = [title, "", "This Agreement is made between Larkspur Retail Group Ltd and the counterparty named below.", ""]
    for section, heading, clause in clauses:
        body += [f"{section}  {heading}. {clause}", ""]
    return "\n".join(body).rstrip() + "\n"


def _summary(files: list[str], by_page: bool) -> str:
    lines = ["# Termination clauses", ""]
    for name in files:
        lines.append(f"## {name}")
        for section, heading, clause in CONTRACTS[name][1]:
            where = f"p. {_PAGES[section]}" if by_page else f"§ {section}"
            lines.append(f"- {heading} ({where}): {clause}")
        lines.append("")
    return "\n".join(lines)


def contract_review(gen: StoryGenerator, index: int, remaining: int) -> int:
    s = gen.new_session(gen.session_time(index), task={"name": "contract-review", "prompt": CONTRACT_PROMPT},
                        workdir="/home/ana/matters/larkspur-2026-014", tags=["legal"])
    r = s.rng
    c = gen.contracts  # the n-th review: which file types it meets, whether it cites by page, ...
    gen.contracts += 1
    pools = {ext: [n for n in CONTRACTS if n.endswith("." + ext)] for ext in ("txt", "docx", "doc", "pdf")}
    files = [r.choice(pools["txt"]), *r.sample(pools["docx"], 1 + c % 2)]
    if c in (1, 4, 6, 9):
        files.append(r.choice(pools["doc"]))
    if c in (0, 2, 3, 5, 8, 10):
        files.append(r.choice(pools["pdf"]))
    files.sort()
    s.user(CONTRACT_PROMPT)
    s.call("glob", {"pattern": "*"}, "\n".join(files), text="Listing the contracts in the matter folder first.")
    for name in files:
        ext = name.rsplit(".", 1)[1]
        if ext == "txt":
            s.call("read", {"file_path": name}, _text(name))
            continue
        if ext == "pdf":
            size = r.randint(21_500_000, 38_000_000)
            s.call("read", {"file_path": name}, f"read: {name} is {size} bytes, over the 20971520-byte limit",
                   error="invalid_input")
            s.plant("pdf-read-fails")
            s.call("bash", {"command": f"pdftotext -layout {name} -"}, _text(name), exit_code=0,
                   text="The executed PDF is a scan with exhibits, over the read limit; pdftotext extracts its "
                        "text layer.")
            s.plant("pdf-pdftotext")
            continue
        s.call("read", {"file_path": name},
               f"read: {name}: not valid UTF-8 text (only images and PDFs are read as binary)", error="exception")
        if ext == "doc":
            s.plant("doc-read-fails")
            s.call("bash", {"command": f"antiword {name}"}, _text(name), exit_code=0,
                   text="This is a legacy binary Word file (.doc); antiword prints its text.")
            s.plant("doc-antiword")
            continue
        s.plant("docx-read-fails")
        if c in (3, 8):  # a machine with pandoc installed
            s.call("bash", {"command": f"pandoc -t plain {name}"}, _text(name), exit_code=0,
                   text="A .docx file is zipped XML, not text; converting it with pandoc.")
            s.plant("docx-pandoc")
        else:
            s.call("bash", {"command": f"unzip -p {name} word/document.xml | sed -e 's/<[^>]*>/ /g'"}, _text(name),
                   exit_code=0, text="A .docx file is a zip of XML parts; the text is in word/document.xml.")
            s.plant("docx-unzip")
    by_page = c in (0, 2, 3, 5, 7, 9)
    s.call("write", {"file_path": "summary.md", "content": _summary(files, by_page)}, "wrote summary.md")
    s.assistant(f"summary.md lists the termination clauses of all {len(files)} contracts.")
    if by_page and c != 3:
        s.user(_CITATION[c % len(_CITATION)])
        s.plant("citation-correction")
        s.call("write", {"file_path": "summary.md", "content": _summary(files, False)}, "wrote summary.md")
        s.assistant("Updated summary.md: every clause is now cited by its section number.")
        by_page = c in (2, 7)  # the grader still found a clause cited by page
    if c != 4:
        section = next(clause[0] for n in files for clause in CONTRACTS[n][1])
        reason = (f"§ {section} is cited as 'p. {_PAGES[section]}', not by its section number" if by_page
                  else "every clause carries its section number")
        criteria = [
            {"id": "cites-sections", "passed": not by_page, "reason": reason, "evidence": "", "weight": 2,
             "kind": "grader"},
            {"id": "complete", "passed": True, "reason": "every termination right is listed", "evidence": "",
             "weight": 2, "kind": "grader"},
            {"id": "summary-written", "passed": True, "reason": "summary.md exists", "evidence": "", "weight": 1,
             "kind": "check"},
            {"id": "docx-was-read", "passed": True, "reason": "", "evidence": "", "weight": 1, "kind": "check"},
        ]
        gen.grade(s, "contract-review", criteria, 0.85)
    s.end()
    return 1


_RECORDS = {
    "records/visit-2025-03-04-primary-care.txt": "CLINIC VISIT NOTE 2025-03-04\nASSESSMENT: type 2 diabetes, "
    "hypertension; ACE-inhibitor cough.\nPLAN: STOP lisinopril. START losartan 50 mg once daily.",
    "records/visit-2025-06-18-primary-care.txt": "CLINIC VISIT NOTE 2025-06-18\nPLAN:\n- START empagliflozin 10 mg "
    "once daily.\n- INCREASE atorvastatin from 20 mg to 40 mg every night.\n- STOP ibuprofen (potassium and kidney "
    "function).\n- Repeat basic metabolic panel in 2 weeks.",
    "records/labs-2025-06-12.txt": "Hemoglobin A1c  8.1  H  %  4.0-5.6\nPotassium  5.4  H  mmol/L  3.5-5.1\n"
    "LDL cholesterol  148  H  mg/dL  <100\nCALCULATED VALUES (flags are not applied to calculated values)\n"
    "eGFR (CKD-EPI 2021, creatinine)  57  mL/min/1.73m2  >=60",
    "records/medications-list.txt": "MEDICATION LIST (exported) - Last reconciled: 2025-03-04\nMetformin 1000 mg "
    "twice daily  active\nAtorvastatin 20 mg nightly  active\nLosartan 50 mg daily  active\nIbuprofen 400 mg as "
    "needed  active",
}
_UNITS = ["Give each abnormal lab with its unit and reference range, not just the value.",
          "Lab values need their units and reference ranges, please.",
          "Always put the unit and the reference range next to each abnormal value."]


def medical_summary(gen: StoryGenerator, index: int, remaining: int) -> int:
    s = gen.new_session(gen.session_time(index), task={"name": "medical-summary", "prompt": MEDICAL_PROMPT},
                        workdir="/srv/review/SYN-0042", tags=["medical"])
    m = gen.medical  # the n-th medical review: who looks in memory, who trips on the stale list, ...
    gen.medical += 1
    s.user(MEDICAL_PROMPT)
    if m % 2 == 0 and m:
        s.call("memory", {"command": "view", "path": "/memories"},
               "\n".join(["/memories", *sorted(gen.memory_notes)]))
    for path, text in _RECORDS.items():
        s.call("read", {"file_path": path}, text)
    if m in (2, 5, 8):
        for _ in range(3):
            s.call("bash", {"command": 'grep -n "eGFR" records/labs-2025-06-12.txt'},
                   "21:eGFR (CKD-EPI 2021, creatinine)  57            mL/min/1.73m2  >=60", exit_code=0)
        s.plant("loop-grep-egfr")
    stale = m in (0, 3, 5, 7)
    meds = ["metformin 1000 mg twice daily", "atorvastatin 40 mg nightly", "losartan 50 mg daily",
            "empagliflozin 10 mg daily"] + (["ibuprofen 400 mg as needed"] if stale else [])
    egfr = m not in (0, 4, 7)
    labs = ["HbA1c 8.1 %", "potassium 5.4 mmol/L", "LDL 148 mg/dL"] + (["eGFR 57 mL/min/1.73m2"] if egfr else [])
    summary = {"patient_id": "SYN-0042", "current_medications": meds, "abnormal_labs": labs,
               "diagnoses": ["type 2 diabetes mellitus", "essential hypertension", "hyperlipidaemia"],
               "follow_up": ["basic metabolic panel in 2 weeks", "HbA1c, eGFR and urine ACR in 3 months"]}
    s.call("write", {"file_path": "summary.json", "content": json.dumps(summary, indent=2)}, "wrote summary.json")
    if m in (1, 2, 4, 6):  # it noticed the list disagrees with the June visit note
        dup = m == 6
        path = "/memories/medical/med-list-is-stale.md" if dup else "/memories/medical-summary/medication-lists.md"
        text = _MED_NOTE_DUP if dup else _MED_NOTE
        s.call("memory", {"command": "create", "path": path, "file_text": text}, f"File created successfully at {path}",
               text="Noting for next time that the exported list lags behind the visit notes.")
        gen.remember(path, text, s.t)
        s.plant("memory-med-list")
    s.assistant("summary.json lists the current medications, the abnormal labs and the follow-up plan.")
    if m in (1, 3, 5, 8):
        s.user(_UNITS[m % len(_UNITS)])
        s.plant("units-correction")
        s.call("write", {"file_path": "summary.json", "content": json.dumps(summary, indent=2)}, "wrote summary.json")
        s.assistant("Added units and reference ranges to every abnormal lab.")
    if m != 6:
        criteria = [
            {"id": "stopped-drugs-not-active", "passed": not stale, "weight": 2, "kind": "grader", "evidence": "",
             "reason": "ibuprofen is listed as current although the 2025-06-18 visit note stopped it" if stale
             else "no stopped drug is listed as current"},
            {"id": "egfr-flagged-low", "passed": egfr, "weight": 1, "kind": "grader", "evidence": "",
             "reason": "" if egfr else "eGFR 57 (reference >=60) is missing from abnormal_labs: the lab report "
                                       "does not flag calculated values"},
            {"id": "atorvastatin-current-dose", "passed": True, "reason": "40 mg", "evidence": "", "weight": 1,
             "kind": "check"},
            {"id": "summary-valid", "passed": True, "reason": "", "evidence": "", "weight": 1, "kind": "check"},
        ]
        gen.grade(s, "medical-summary", criteria, 0.9)
    s.end()
    return 1


def build_log_triage(gen: StoryGenerator, index: int, remaining: int) -> int:
    lead = gen.new_session(gen.session_time(index), task={"name": "build-log-triage", "prompt": TRIAGE_PROMPT},
                           workdir="/srv/ci/weekly-triage", tags=["ci", "multi-agent"])
    r = lead.rng
    lead.user(TRIAGE_PROMPT)
    pipelines = r.sample(_PIPELINES, 4)
    lead.call("bash", {"command": "ls logs/"}, "\n".join(f"{p}/" for p in sorted(pipelines)), exit_code=0)
    if gen.cost_outliers < 2 and r.random() < 0.5:  # the costly way: every log whole into context
        lead.call("bash", {"command": "zcat logs/*/*.log.gz"}, "\n".join(
            f"2026-10-{d:02d}T03:{m:02d}:11Z [INFO] {p}: step {m % 9 + 1}/9 ({m * 7}s)" for d, m, p in
            zip(range(1, 29), range(5, 59, 2), pipelines * 7, strict=False)), truncated=True, exit_code=0)
        lead.cost_factor = 9.0
        gen.cost_outliers += 1
        lead.plant("cost-outlier")
    n_subs = min(remaining - 1, 2)
    found: list[str] = []
    for n, pipeline in enumerate(pipelines[:n_subs]):
        brief = (f"logs/ holds last week's {pipeline} job logs. Find the failed jobs and report each one's build "
                 "number, failing step and error line.")
        tool_id = lead.assistant(None if n else "One sub-agent per pipeline.", ("delegate", {"brief": brief}))
        assert tool_id is not None
        child = gen.new_session(lead.t + 50, episode=lead.episode, parent_session_id=lead.sid,
                                task={"name": "build-log-triage", "prompt": brief},
                                workdir=f"/srv/ci/weekly-triage/work/{pipeline}",
                                tags=["ci"], agent="log-triage-worker")
        lead.subagent("started", child.sid, brief)
        child.user(brief)
        step, line = _CAUSES[pipeline]
        builds = sorted(r.sample(range(4101, 4190), 3))
        child.call("bash", {"command": 'grep -rn -E "ERROR|FAIL" logs/'}, "[exit code 1]", error="exit_nonzero",
                   exit_code=1)
        child.call("bash", {"command": "ls logs/"}, "\n".join(f"build-{b}.log.gz" for b in builds), exit_code=0)
        hits = "\n".join(f"logs/build-{b}.log.gz:{r.randint(200, 900)}:{line}" for b in builds[:2])
        child.call("bash", {"command": 'zgrep -n -E "ERROR|FAIL" logs/*.log.gz'}, hits, exit_code=0,
                   text="The logs are gzip-compressed (.log.gz), so plain grep finds nothing in them; zgrep "
                        "searches inside.")
        child.plant("grep-gz-zgrep")
        report = f"{pipeline}: builds {builds[0]} and {builds[1]} failed at '{step}': {line}"
        found.append(report)
        child.assistant(report)
        child.end()
        lead.t = max(lead.t, child.t) + 20
        lead.subagent("finished", child.sid, brief, status="completed")
        lead.result(tool_id, "delegate", report)
    triage = "# CI triage\n\n" + "\n".join(f"## {f.split(':', 1)[0]}\n{f.split(':', 1)[1].strip()}\n" for f in found)
    lead.call("write", {"file_path": "triage.md", "content": triage}, "wrote triage.md")
    lead.assistant(f"triage.md groups last week's failures in {len(found)} pipelines by root cause.")
    if r.random() < 0.7:
        oom = "search-indexer" not in pipelines[:n_subs] or r.random() < 0.8
        criteria = [{"id": "names-oom", "passed": oom, "weight": 1, "kind": "check", "evidence": "",
                     "reason": "" if oom else "the search-indexer OOMKilled builds are not named"},
                    {"id": "delegated", "passed": True, "reason": "", "evidence": "", "weight": 1, "kind": "check"}]
        gen.grade(lead, "build-log-triage", criteria, 0.85)
    lead.end()
    return 1 + n_subs


def one_offs(gen: StoryGenerator, index: int, remaining: int) -> int:
    """Each one-off happens once: its error, fix or request must not become a playbook entry."""
    task, prompt, steps = ONE_OFFS[gen.one_offs % len(ONE_OFFS)]
    gen.one_offs += 1
    s = gen.new_session(gen.session_time(index), task={"name": task, "prompt": prompt},
                        workdir=f"/home/ana/{task}", tags=["misc"])
    s.user(prompt)
    steps(s)
    s.end()
    return 1


def stale_ci_note(gen: StoryGenerator) -> None:
    """A note an early session left that nothing has used since (a dream proposes to retire it)."""
    gen.remember("/memories/ci/runner-disk.md", _CI_NOTE, gen.start_ms + 86_400_000)


STORIES: dict[str, Callable[[StoryGenerator, int, int], int]] = {
    "contract-review": contract_review,
    "medical-summary": medical_summary,
    "build-log-triage": build_log_triage,
    "one-off": one_offs,
}
# sessions per story: 11 contract reviews, 9 medical summaries, 5 triage episodes of 3 sessions, 5 one-offs
PLAN = {"contract-review": 11, "medical-summary": 9, "build-log-triage": 5, "one-off": len(ONE_OFFS)}
