"""`export --include-sessions` in a workspace whose sessions live in object storage (`sessions.url`, S3 served
by moto on 127.0.0.1): the sources another machine uploaded are read from the bucket and redacted as local
ones (before: listed as missing, the bundle silently without them); a session this machine has a file of is
read from that file, once; a store that fails stops the export with its one-line error and writes nothing."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from dreamcli.errors import EXIT_CREDENTIALS, EXIT_USAGE
from dreamcli.portability import import_bundle
from dreamcli.sessions.paths import session_path
from dreamcli.store.objects import ObjectStore
from dreamcli.workspace.home import Workspace
from tests.portability.support import S1, S2, S_MISSING, audit, cli, make_workspace, tree, write_session
from tests.store.conftest import _free_port, moto_endpoint, s3_env  # noqa: F401 (fixtures)

PATTERNS = "redaction:\n  patterns: ['hunter2-\\w+']\n"


def _config(ws: Workspace, url: str) -> None:
    ws.config_path.write_text(f"sessions:\n  url: {json.dumps(url)}\n{PATTERNS}")


def _uploaded(root: Path, url: str, *sessions: tuple[str, str]) -> None:
    """Sessions run on another machine and uploaded to the bucket (its buffer is its session file)."""
    runner = Workspace(root=root, source="option").ensure_layout()
    _config(runner, url)
    for sid, text in sessions:
        write_session(runner, sid, text)
        ObjectStore(url, runner.sessions_dir).seal(sid)


@pytest.fixture
def exporter(tmp_path: Path, s3_env: str) -> Workspace:  # noqa: F811
    """A workspace on the bucket with the `legal` playbook citing S1, S2 and S_MISSING: S1 is only in the
    bucket, S2 both in the bucket and in a file of its own, S_MISSING nowhere."""
    _uploaded(tmp_path / "runner", s3_env, (S1, "Review msa.docx; the internal code word is hunter2-internal"),
              (S2, "Review nda.docx (the bucket's copy)"))
    ws = make_workspace(tmp_path / "src", sessions=False)
    _config(ws, s3_env)
    write_session(ws, S2, "Review nda.docx (this machine's copy)")
    return ws


def _member(ws: Workspace, sid: str) -> str:
    return session_path(ws, sid).relative_to(ws.root).as_posix()


def test_a_session_only_in_the_bucket_is_exported_redacted(exporter: Workspace, tmp_path: Path) -> None:
    r = cli(exporter.root, "export", "-o", str(tmp_path / "b"), "--include-sessions", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["sessions"] == 2 and data["missing_sessions"] == [S_MISSING]
    files = tree(tmp_path / "b")
    s1 = files[_member(exporter, S1)].decode()
    assert "hunter2-internal" not in s1 and "[REDACTED:custom]" in s1 and "Review msa.docx" in s1
    manifest = json.loads(files["manifest.json"])
    assert manifest["sessions"] == [S1, S2] and manifest["missing_sessions"] == [S_MISSING]
    dest = Workspace(root=tmp_path / "dest", source="option")
    result = import_bundle(dest, tmp_path / "b")  # a bundle another workspace takes: each session checked
    assert result.sessions_added == 2 and session_path(dest, S1).read_bytes() == files[_member(exporter, S1)]


def test_a_session_both_here_and_in_the_bucket_is_exported_once_from_its_file(exporter: Workspace,
                                                                              tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    r = cli(exporter.root, "export", "-o", str(out), "--include-sessions")
    assert r.exit_code == 0, r.output
    with tarfile.open(out) as t:
        names = [m.name for m in t.getmembers() if m.isfile()]
        s2 = t.extractfile(_member(exporter, S2)).read().decode()  # type: ignore[union-attr]
        manifest = json.loads(t.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert sorted(n for n in names if n.startswith("sessions/")) == sorted([_member(exporter, S1),
                                                                           _member(exporter, S2)])
    assert "this machine's copy" in s2 and "bucket's copy" not in s2
    assert manifest["sessions"] == [S1, S2] and manifest["missing_sessions"] == [S_MISSING]

    r = cli(exporter.root, "export", "-f", "json", "-o", "-", "--include-sessions")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [s["session_id"] for s in doc["sessions"]] == [S1, S2]
    assert "hunter2-internal" not in r.stdout and "this machine's copy" in r.stdout


@pytest.mark.parametrize("output", ["b.tar.gz", "b", "-"])
def test_a_store_that_is_down_stops_the_export_with_one_line_and_no_half_bundle(
        exporter: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")  # connections refused
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no retry, no backoff: the same error, sooner
    out = tmp_path / "out"
    out.mkdir()
    r = cli(exporter.root, "export", "-o", output if output == "-" else str(out / output), "--include-sessions")
    assert r.exit_code == EXIT_CREDENTIALS, r.output
    assert r.stderr.startswith("error: cannot read s3://") and r.stderr.count("\n") == 1, r.stderr
    assert "does not answer" in r.stderr and "Traceback" not in r.output
    assert r.stdout_bytes == b"" and list(out.iterdir()) == []  # no bundle, no temporary file left
    assert not [a for a in audit(exporter) if a["action"] == "export"]
    # the same line and exit code as the other commands reading that store
    other = cli(exporter.root, "export", "sessions", "--format", "parquet", str(out / "lake"))
    if other.exit_code != EXIT_USAGE or "pyarrow" not in other.stderr:  # pyarrow is an optional extra
        assert other.exit_code == EXIT_CREDENTIALS and other.stderr.startswith("error: cannot list s3://")


def test_a_bucket_that_does_not_exist_is_exit_2(exporter: Workspace, tmp_path: Path, s3_env: str) -> None:  # noqa: F811
    _config(exporter, s3_env.replace("s3://", "s3://no-such-"))
    r = cli(exporter.root, "export", "-o", str(tmp_path / "b"), "--include-sessions")
    assert r.exit_code == EXIT_USAGE and r.stderr.startswith("error: ") and "does not exist" in r.stderr, r.output
    assert r.stderr.count("\n") == 1 and not (tmp_path / "b").exists()
