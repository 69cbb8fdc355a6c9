"""`sessions.url` forms that used to pass `init` and `doctor` and then fail (docs/scaling.md; S3 served by moto
on 127.0.0.1): an empty path segment (`s3://bucket//prefix`: uploads went under the `//` key, which no listing
could read, so every reader saw 0 sessions with exit 0) is refused with one line, exit 2, wherever the URL is
read; an upper-case scheme (`S3://`: every upload failed, and dream ended in "internal error: ValueError:
Protocol not known: S3") is the same URL as `s3://`; and a URL fsspec cannot open is never an internal error."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.errors import UsageError
from dreamcli.store.objects import ObjectStore
from dreamcli.store.url import check_url
from dreamcli.workspace.home import Workspace
from tests.store.conftest import moto_endpoint, s3_env  # noqa: F401 (fixtures)
from tests.support.paths import CLAUDE_CODE_SAMPLES


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _ws(root: Path, url: str) -> Workspace:
    """A workspace whose config.yaml was written by hand (not through `init`, which checks the URL)."""
    ws = Workspace(root, "option").ensure_layout()
    ws.config_path.write_text(f"sessions:\n  url: {json.dumps(url)}\n")
    return ws


def _one_line_error(r: Any, code: int = 2) -> str:
    assert r.exit_code == code, r.output
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and "internal error" not in r.stderr
    return str(r.stderr)


@pytest.mark.parametrize("url", ["s3://fleet//team/sessions", "s3://fleet/team//sessions/", "gs://fleet//x"])
def test_init_refuses_an_empty_path_segment(tmp_path: Path, url: str) -> None:
    err = _one_line_error(_invoke("init", str(tmp_path / "p"), "--sessions-url", url))
    assert "empty path segment" in err and "fleet/" in err
    assert not (tmp_path / "p" / ".dreamcli").exists()


def test_a_hand_written_empty_segment_stops_readers_and_doctor(tmp_path: Path, s3_env: str) -> None:  # noqa: F811
    bucket = s3_env.split("/")[2]
    ws = _ws(tmp_path / "ws", f"s3://{bucket}//team/sessions")
    home = ("--home", str(ws.root))
    err = _one_line_error(_invoke(*home, "dream", "--offline", "--all", "--dry-run"))
    assert f"give it with single slashes (s3://{bucket}/team/sessions)" in err
    if importlib.util.find_spec("pyarrow") is not None:
        err = _one_line_error(_invoke(*home, "export", "sessions", "--format", "parquet", str(tmp_path / "lake")))
        assert "empty path segment" in err and not (tmp_path / "lake").exists()
    r = _invoke(*home, "doctor", "--json")
    check = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "sessions.url")
    assert check["status"] == "fail" and "empty path segment" in check["detail"]


def test_a_trailing_slash_is_no_empty_segment() -> None:
    assert check_url("s3://fleet/team/sessions/") == "s3://fleet/team/sessions/"
    assert check_url("file:///mnt//shared") == "file:///mnt//shared"  # a local path: `//` is `/` there


def test_the_scheme_is_case_insensitive(tmp_path: Path) -> None:
    assert check_url(" S3://fleet/Team ") == "s3://fleet/Team"  # the bucket and the prefix as they are
    r = _invoke("init", str(tmp_path / "p"), "--sessions-url", "S3://fleet/team/sessions")
    assert r.exit_code == 0, r.output
    assert "url: \"s3://fleet/team/sessions\"" in (tmp_path / "p" / ".dreamcli" / "config.yaml").read_text()


def test_an_upper_case_scheme_uploads_and_reads_the_same_bucket(tmp_path: Path,
                                                               s3_env: str) -> None:  # noqa: F811
    upper = "S3" + s3_env[2:]
    runner = _ws(tmp_path / "runner", upper)
    r = _invoke("--home", str(runner.root), "sessions", "import", "claude-code", str(CLAUDE_CODE_SAMPLES), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["upload"]["not_uploaded"] == 0, r.output
    for root, url in (("dreamer", upper), ("lower", s3_env)):  # a reader of either spelling sees them
        dreamer = _ws(tmp_path / root, url)
        r = _invoke("--home", str(dreamer.root), "dream", "--offline", "--all", "--dry-run", "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["inputs"]["sessions"] == 4


@pytest.mark.parametrize("url", ["S3://fleet/x", "nosuch://fleet/x"])
def test_a_url_fsspec_cannot_open_is_a_usage_error_not_an_internal_one(tmp_path: Path, url: str) -> None:
    """Past every check (a store made from the URL as given): what fsspec refuses is said in one line, exit 2."""
    store = ObjectStore(url, tmp_path / "buffer")
    with pytest.raises(UsageError, match=rf"^cannot use the sessions URL {url}: Protocol not known: "):
        store.list()
