"""Single-document and memory-directory exports: json, claude-md, agents-md, memory-dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamcli.playbooks import parse_playbook
from dreamcli.portability import export_playbooks
from dreamcli.portability.memory_dir import MAX_FILE_CHARS
from dreamcli.workspace.home import Workspace
from tests.portability.support import LEGAL_V3, OPS_V1, S1, S2, S_MISSING, cli, make_workspace, write_playbook


@pytest.fixture
def source_ws(tmp_path: Path) -> Workspace:
    """A workspace (root only, at tmp_path/"ws") with legal v2-v3 and ops v1 in history and two sessions."""
    return make_workspace(tmp_path / "ws")


def test_json_is_one_lossless_document(source_ws: Workspace) -> None:
    r = cli(source_ws.root, "export", "-f", "json", "-o", "-")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["format"] == "dreamcli-playbooks" and doc["format_version"] == 1 and doc["dreamcli_version"]
    legal = next(p for p in doc["playbooks"] if p["name"] == "legal")
    assert legal["version"] == 3 and legal["scope"] == {"tasks": ["contract-review"], "tags": ["legal"]}
    assert legal["sections"] == ["Tool workarounds", "Corrections"]
    first = legal["entries"][0]
    assert first["id"] == "pb-3f9k2xab" and first["helpful"] == 7 and first["section"] == "Tool workarounds"
    assert first["text"].endswith("worked in 7 of 8 sessions.") and "\n" in first["text"]
    assert legal["markdown"] == LEGAL_V3  # the exact file: parse it back and nothing is lost
    assert parse_playbook(legal["markdown"]).entries()[1].sources == [S1, S_MISSING]
    assert "sessions" not in doc


def test_json_with_sessions_embeds_redacted_events(source_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "pb.json"
    export_playbooks(source_ws, fmt="json", output=str(out), include_sessions=True, names=["legal"],
                     redaction_patterns=[r"hunter2-\w+"])
    doc = json.loads(out.read_text())
    assert [s["session_id"] for s in doc["sessions"]] == [S1, S2]  # S_MISSING is not in the workspace
    text = json.dumps(doc["sessions"])
    assert "hunter2-internal" not in text and "[REDACTED:custom]" in text
    assert doc["sessions"][0]["events"][0]["type"] == "session.start"
    assert oct(out.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(("fmt", "title"), [("claude-md", "# Learned playbooks"), ("agents-md", "# AGENTS.md")])
def test_markdown_exports_carry_texts_by_section_without_metadata(source_ws: Workspace, fmt: str, title: str) -> None:
    r = cli(source_ws.root, "export", "-f", fmt, "-o", "-")
    assert r.exit_code == 0, r.output
    md = r.stdout
    assert md.startswith(title + "\n")
    assert "legal v3" in md and "ops v1" in md  # provenance comment
    assert "Tool workarounds" in md and "Corrections" in md and "Builds" in md
    assert "- Cite clauses by section number (\"§ 12.3\"), never by page." in md
    assert "  (`pandoc -t plain FILE`) and read the text" in md  # continuation lines stay in the bullet
    assert "<!-- dc:" not in md and "pb-3f9k2xab" not in md and "helpful=" not in md
    assert md.index("legal") < md.index("Tool workarounds") < md.index("Corrections")


def test_claude_md_default_output_name(source_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = cli(source_ws.root, "export", "-f", "claude-md", "--playbook", "ops")
    assert r.exit_code == 0, r.output
    text = (tmp_path / "CLAUDE.md").read_text()
    assert "make lock" in text and "contract" not in text
    assert "exported ops v1" in r.stderr and r.stdout == ""


def test_memory_dir_has_an_index_and_small_files(source_ws: Workspace, tmp_path: Path) -> None:
    many = OPS_V1.split("## Builds")[0] + "## Builds\n\n" + "".join(
        f"- [op-{i:08d}] Lesson number {i}: " + "always check the build cache before retrying. " * 4
        + "\n  <!-- dc: helpful=1 harmful=0 -->\n" for i in range(40))
    write_playbook(source_ws, "ops", many)
    out = tmp_path / "store"
    r = cli(source_ws.root, "export", "-f", "memory-dir", "-o", str(out), "--json")
    assert r.exit_code == 0, r.output
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert "memories/index.md" in files
    assert "memories/legal/tool-workarounds.md" in files and "memories/legal/corrections.md" in files
    ops_files = [f for f in files if f.startswith("memories/ops/")]
    assert len(ops_files) > 1  # a long section is split
    for f in files:
        assert len((out / f).read_text()) <= MAX_FILE_CHARS + 500
    index = (out / "memories" / "index.md").read_text()
    for f in files:
        if f != "memories/index.md":
            assert f"/{f}" in index
    corrections = (out / "memories" / "legal" / "corrections.md").read_text()
    assert "never by page" in corrections and "id=pb-8m2k4q1z" in corrections
    texts = "".join((out / f).read_text() for f in ops_files)
    assert all(f"Lesson number {i}:" in texts for i in range(40))
    assert json.loads(r.stdout)["files"] == len(files)
    again = cli(source_ws.root, "export", "-f", "memory-dir", "-o", str(out))
    assert again.exit_code == 2 and "not an empty directory" in again.stderr


@pytest.mark.parametrize("fmt", ["json", "bundle"])
def test_non_finite_numbers_read_from_a_log_are_written_as_null(source_ws: Workspace, tmp_path: Path,
                                                               fmt: str) -> None:
    """The standard library reads NaN and Infinity from a log line; strict JSON has neither."""
    from dreamcli.sessions.paths import find_session

    log = find_session(source_ws, S1)
    log.write_text(log.read_text().replace('"status":"completed"', '"status":"completed","cost_usd":NaN,'
                                           '"totals_usd":[Infinity,-Infinity,1.5]'))

    def strict(text: str) -> object:
        def refuse(token: str) -> None:
            raise ValueError(f"not JSON: {token}")
        return json.loads(text, parse_constant=refuse)

    out = tmp_path / ("pb.json" if fmt == "json" else "bundle")
    r = cli(source_ws.root, "export", "-f", fmt, "-o", str(out), "--include-sessions")
    assert r.exit_code == 0, r.output
    if fmt == "json":
        end = strict(out.read_text())["sessions"][0]["events"][-1]  # type: ignore[index]
    else:
        end = [strict(line) for line in next(out.glob(f"sessions/**/{S1}.jsonl")).read_text().splitlines()][-1]
    assert end["cost_usd"] is None and end["totals_usd"] == [None, None, 1.5]  # type: ignore[index]
