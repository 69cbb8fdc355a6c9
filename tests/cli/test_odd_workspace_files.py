"""Files of a workspace other than its session logs, with values no command writes (a copied or edited
workspace): grades, the dream's state and the audit trail. Found by fuzzing; each failed a listing, a
dream or an export with an internal error. Each reader now skips what has the wrong types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.outcomes.grade_record import grade_problem

pytestmark = pytest.mark.usefixtures("no_model")


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def dreamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("odd")
    assert run("init", str(base / "p"), "--with-samples").exit_code == 0
    home = base / "p" / ".dreamcli"
    assert run("--home", str(home), "dream", "--offline", "--all").exit_code == 0
    assert run("--home", str(home), "playbooks", "approve", "--all", "--yes").exit_code == 0
    return home


@pytest.fixture
def home(dreamed: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(dreamed, tmp_path / "home")
    return tmp_path / "home"


def test_grade_records_with_wrong_types_are_skipped(home: Path) -> None:
    grades = home / "grades" / "grades.jsonl"
    lines = grades.read_text().splitlines()
    first = json.loads(lines[0])
    odd = [{**first, "ts": ["2026"]}, {**first, "score": "high"}, {**first, "criteria": 3},
           {**first, "result": {"x": 1}}, {**first, "score": 10**400}]
    grades.write_text("\n".join([*lines, *(json.dumps(o) for o in odd)]) + "\n")
    assert [grade_problem(o) for o in odd[:4]] == ["wrong type for 'ts'", "wrong type for 'score'",
                                                    "wrong type for 'criteria'", "wrong type for 'result'"]
    for args in (["sessions", "list"], ["sessions", "list", "--json"], ["dream", "--offline", "--all"]):
        r = run("--home", str(home), *args)
        assert r.exit_code == 0 and "internal error" not in r.output, (args, r.output)
    listed = json.loads(run("--home", str(home), "sessions", "list", "--json", "--limit", "100").stdout)
    assert all(s["score"] is None or isinstance(s["score"], float) for s in listed["sessions"])


@pytest.mark.parametrize("field,value", [("grades_offset", -5), ("deferred", "x"), ("last_session_id", 7)])
def test_a_watermark_no_dream_wrote_starts_afresh(home: Path, field: str, value: object) -> None:
    path = home / "state" / "dream" / "default" / "watermark.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, field: value}))
    r = run("--home", str(home), "dream", "--offline", "--all", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["inputs"]["sessions"] > 0  # every session read again


def test_audit_records_with_wrong_types_are_skipped_by_readers(home: Path) -> None:
    audit = home / "audit.jsonl"
    lines = audit.read_text().splitlines()
    odd = {**json.loads(lines[-1]), "playbook": ["default"], "version_after": "1"}
    audit.write_text("\n".join([*lines, json.dumps(odd)]) + "\n")
    for args in (["export", "-o", str(home / "b.tar.gz")], ["playbooks", "history", "default"], ["playbooks", "audit"]):
        r = run("--home", str(home), *args)
        assert r.exit_code == 0 and "internal error" not in r.output, (args, r.output)
    r = run("--home", str(home), "playbooks", "audit", "--verify")
    assert r.exit_code != 0  # the edited trail is reported


@pytest.mark.parametrize("value", ["abc", [1], {"a": 1}, -1])
def test_the_cron_fast_path_leaves_an_odd_watermark_to_the_dream(home: Path, value: object) -> None:
    """Found in review: `dream` (new sessions only, the cron path) read the watermark untyped first and
    failed on `int("abc")`; and a watermark set aside kept its patterns while every session was read
    again, counting each twice."""
    state = home / "state" / "dream" / "default"
    before = json.loads((state / "aggregates.json").read_text())["sessions_seen"]
    data = json.loads((state / "watermark.json").read_text())
    (state / "watermark.json").write_text(json.dumps({**data, "grades_offset": value}))
    r = run("--home", str(home), "dream", "--offline")
    assert r.exit_code == 0, r.output
    assert json.loads((state / "aggregates.json").read_text())["sessions_seen"] == before


def test_an_index_listed_through_a_symlink_is_listed_again_through_the_real_path(home: Path) -> None:
    """Found in review: rows kept the symlink's paths while the index counted as the real path's, so
    after the link was removed the dream opened files that were not there."""
    link = home.parent / "link"
    link.symlink_to(home)
    assert run("--home", str(link), "sessions", "reindex").exit_code == 0
    link.unlink()
    r = run("--home", str(home), "sessions", "list", "--json", "--limit", "100")
    assert r.exit_code == 0 and all(s["path"].startswith(str(home)) for s in json.loads(r.stdout)["sessions"])
    r = run("--home", str(home), "dream", "--offline", "--all", "--dry-run")
    assert r.exit_code == 0 and "internal error" not in r.output, r.output


def _seen(home: Path) -> int:
    return int(json.loads((home / "state" / "dream" / "default" / "aggregates.json").read_text())["sessions_seen"])


@pytest.mark.parametrize("watermark", [None, "{", '{"v": 2}', "[]"])
def test_a_lost_watermark_reads_every_session_once(home: Path, watermark: str | None) -> None:
    """Found in a second review: without a usable watermark every session is read again, into the stored
    patterns: each counted twice."""
    before = _seen(home)
    path = home / "state" / "dream" / "default" / "watermark.json"
    if watermark is None:
        path.unlink()
    else:
        path.write_text(watermark)
    assert run("--home", str(home), "dream", "--offline").exit_code == 0
    assert _seen(home) == before


def test_set_aside_patterns_make_the_dream_read_everything_again(home: Path) -> None:
    from dreamcli.config import Config
    from dreamcli.dream import stages
    from dreamcli.dream.options import DreamOptions
    from dreamcli.workspace.home import Workspace

    path = home / "state" / "dream" / "default" / "aggregates.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "sessions_seen": "x"}))
    sel = stages.select(Workspace(root=home, source="option"), Config(), DreamOptions(offline=True))
    assert sel.mark.last_session_id is None and len(sel.paths) == 40 and sel.set_aside[0].startswith("aggregates")


def test_an_index_listed_through_dot_dot_is_listed_again_through_the_plain_path(home: Path) -> None:
    """Found in a second review: `tmp/../ws` and `ws` counted as one owner while rows held the first
    spelling; once `tmp` was gone every row named a missing file and the dream read nothing."""
    import os

    old = 1_700_000_000  # settled days are not listed again: the case where rows are trusted as they are
    for d, dirs, files in os.walk(home / "sessions"):
        for name in [*dirs, *files]:
            os.utime(os.path.join(d, name), (old, old))
    tmp = home.parent / "tmp"
    tmp.mkdir()
    assert run("--home", f"{tmp}/../{home.name}", "sessions", "reindex").exit_code == 0
    tmp.rmdir()
    r = run("--home", str(home), "dream", "--offline", "--all", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["inputs"]["sessions"] == 40, r.output
