"""The build-log triage sample end to end through the installed command, scripted on the fake server:
the lead lists the 32 logs, delegates four briefs of eight logs, each sub-agent greps its logs
with bash and reports per log, the lead merges the answers into triage.md, and the task's outcome
(deterministic checks plus a scripted grader) is satisfied."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from dreamcli.testing import Reply, content_text, tool_reply, tool_use
from tests.support.multiagent import answer, is_child, logs_by_role, responder
from tests.support.paths import REPO
from tests.support.run import cli_env, of_type, run_cli, validate_log

GREP = "Job succeeded|Job failed|Read timed out|ETIMEDOUT|OOMKilled|UP017|SENTRY_AUTH_TOKEN|snapshot failed|" \
       "no space left|AssertionError"
PATTERNS = [  # (regex a log line matches, pattern name); the sub-agent classifies each log by these
    (r"Read timed out|ETIMEDOUT", "Dependency download timeout from artifacts.build.example.net"),
    (r"OOMKilled", "Test runner OOMKilled (exit code 137)"),
    (r"UP017", "ruff UP017 after the shared lint config update"),
    (r"SENTRY_AUTH_TOKEN", "Release step missing SENTRY_AUTH_TOKEN"),
    (r"snapshot failed", "Jest snapshot mismatch"),
]


def copy_sample(tmp: Path) -> Path:
    (tmp / "sample_tasks").mkdir()
    shutil.copy(REPO / "sample_tasks" / "build-log-triage.yaml", tmp / "sample_tasks")
    logs = Path("sample_tasks") / "build-log-triage" / "logs"
    shutil.copytree(REPO / logs, tmp / logs)
    (tmp / "sample_outcomes").mkdir()
    shutil.copy(REPO / "sample_outcomes" / "build-log-triage.yaml", tmp / "sample_outcomes")
    return tmp / "sample_tasks" / "build-log-triage.yaml"


def classify(grep_output: str) -> list[str]:
    """What a sub-agent reports: `<log> | <pattern, one-off or passed> | <the line>` per log."""
    lines: dict[str, list[str]] = {}
    for line in grep_output.splitlines():
        name, _, text = line.partition(":")
        if name.endswith(".log"):
            lines.setdefault(name, []).append(text.split(" ", 1)[-1].strip())
    report = []
    for name, texts in sorted(lines.items()):
        found = next(((label, t) for rx, label in PATTERNS for t in texts if re.search(rx, t)), None)
        if found:
            report.append(f"{name} | {found[0]} | {found[1]}")
        elif any("Job succeeded" in t for t in texts):
            report.append(f"{name} | passed | Job succeeded")
        else:
            specific = [t for t in texts if "command terminated" not in t] or texts
            report.append(f"{name} | one-off | {specific[0]}")
    return report


def triage_md(tool_result: str) -> str:
    rows = [ln.split(" | ", 2) for ln in tool_result.splitlines() if ln.count(" | ") >= 2]
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, kind, line in rows:
        groups.setdefault(kind, []).append((name, line))
    out = ["# Build log triage", ""]
    patterns = sorted((k for k in groups if k not in ("passed", "one-off")), key=lambda k: -len(groups[k]))
    for kind in patterns:
        logs = sorted(n for n, _ in groups[kind])
        pipelines = sorted({n.rsplit("-", 1)[0] for n in logs})
        out += [f"## Pattern: {kind}", f"- Signature: `{groups[kind][0][1]}`", f"- Pipelines: {', '.join(pipelines)}",
                f"- Logs: {', '.join(logs)}", "- Likely cause and next action: see the signature in each log.", ""]
    out += ["## One-off failures"] + [f"- {n}: {line}" for n, line in sorted(groups.get("one-off", []))]
    out += ["", f"Passing jobs: {len(groups.get('passed', []))}", ""]
    return "\n".join(out)


@pytest.mark.slow
def test_build_log_triage_sample_end_to_end(fake_anthropic: Any, tmp_path: Path) -> None:
    task = copy_sample(tmp_path)
    logs_dir = task.parent / "build-log-triage" / "logs"
    home = tmp_path / "home"

    def lead(req: Any, turn: int) -> Reply:
        if turn == 0:
            return tool_reply(tool_use("glob", {"pattern": "*.log"}), text="Listing the logs first.")
        if turn == 1:
            names = sorted(ln.strip() for ln in req.last_user_text.splitlines() if ln.strip().endswith(".log"))
            batches = [names[i:i + 8] for i in range(0, len(names), 8)]
            return tool_reply(tool_use("delegate", {"tasks": [
                {"brief": "Logs: " + " ".join(b) + "\nFor each log report `<log> | <pattern> | <error line>`.",
                 "tools": ["bash", "read", "grep"], "max_turns": 6} for b in batches]}))
        if turn == 2:
            return tool_reply(tool_use("write", {"file_path": "triage.md", "content": triage_md(req.last_user_text)}))
        return answer("5 patterns: mirror timeouts, OOM kills, UP017 lint, missing SENTRY_AUTH_TOKEN, snapshots.")

    def child(brief: str, turn: int, req: Any) -> Reply:
        files = brief.splitlines()[0].removeprefix("Logs: ")
        if turn == 0:
            return tool_reply(tool_use("bash", {"command": f"grep -H -E '{GREP}' {files}"}))
        return answer("\n".join(classify(req.last_user_text)))

    def grader(req: Any) -> Reply:
        judged = re.findall(r"\b(pipelines-correct|causes-grounded|one-offs-separated|delegated)\b",
                            json.dumps(req.body))
        verdicts = [{"criterion_id": c, "passed": True, "reason": "matches the logs", "evidence": "triage.md"}
                    for c in dict.fromkeys(judged)]
        return tool_reply(tool_use("record_verdicts", {"verdicts": verdicts, "summary": "good triage"}))

    fake_anthropic.responder = responder(lead, child, grader)
    proc = run_cli(["run", str(task), "--yes", "--json"], env=cli_env(fake_anthropic.url, home), timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "completed" and result["outcome"]["result"] == "satisfied"

    # the sample says copy_workdir: the run worked in a copy under the workspace, the sample stays as shipped
    assert not (logs_dir / "triage.md").exists() and Path(result["workdir"]).is_relative_to(home)
    triage = (Path(result["workdir"]) / "triage.md").read_text()
    headings = re.findall(r"^## Pattern: (.+)$", triage, re.M)
    assert headings[0] == "Dependency download timeout from artifacts.build.example.net"  # 5 logs: first
    assert sorted(headings) == sorted(label for _, label in PATTERNS)
    one_offs = triage.split("## One-off failures")[1]
    for log in ("payments-api-9389.log", "auth-service-8040.log", "search-indexer-5569.log",
                "notifications-worker-1464.log"):
        assert log in one_offs
    assert "Passing jobs: 8" in triage

    lead_events, children = logs_by_role(home)
    assert len(children) == 4
    covered: list[str] = []
    for sid, events in children.items():
        validate_log(next((home / "sessions").rglob(f"{sid}.jsonl")))
        assert events[0]["parent_session_id"] == lead_events[0]["session_id"]
        assert events[0]["tools"] == ["bash", "read", "grep"] and events[-1]["status"] == "completed"
        assert [t["name"] for t in of_type(events, "tool")] == ["bash"]
        covered += events[0]["brief"].splitlines()[0].removeprefix("Logs: ").split()
    assert sorted(covered) == sorted(p.name for p in logs_dir.glob("*.log")) and len(covered) == 32
    assert [t["name"] for t in of_type(lead_events, "tool")] == ["glob", "delegate", "write"]
    evaluation = of_type(lead_events, "outcome.evaluation")[-1]
    assert evaluation["result"] == "satisfied"
    assert all(c["passed"] for c in evaluation["criteria"]), evaluation["criteria"]
    grader_reqs = [r for r in fake_anthropic.requests if not r.stream]
    assert len(grader_reqs) == 1 and not any(is_child(r) for r in grader_reqs)
    # the lead saw only the sub-agents' answers, never a log's contents
    assert not any("Collecting fastapi" in content_text(m.get("content"))
                   for r in fake_anthropic.requests if not is_child(r) for m in r.messages)
