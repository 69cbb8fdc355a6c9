"""`export sessions --format parquet --json` names the first line it left out even when the session file's
name holds a byte that is not UTF-8: as \\xNN, as the stderr note names it. Before: the dataset was published,
then printing the JSON failed with an internal UnicodeEncodeError (exit 1, and a re-run found DIR taken)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamcli.cli.app import app
from dreamcli.workspace.home import Workspace

pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install '.[parquet]')")

START = b'{"v":1,"type":"session.start","ts":"2026-10-01T00:00:00Z","session_id":"x","seq":0}\n'


def _odd_session(ws: Workspace) -> str:
    """A session file named with a byte that is not UTF-8, its second line not JSON; its folder as shown."""
    day = ws.sessions_dir / "2026" / "10" / "01"
    day.mkdir(parents=True)
    try:
        with open(os.path.join(os.fsencode(day), b"01K6E4Y00000000000000000\xff.jsonl"), "wb") as f:
            f.write(START + b"not json\n")
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    return str(day)


def _export(ws: Workspace, out: Path, *args: str) -> tuple[str, str]:
    r = CliRunner().invoke(app, ["--home", str(ws.root), "export", "sessions", "--format", "parquet", str(out),
                                 *args])
    assert r.exit_code == 0 and "internal error" not in r.stderr, r.output
    return r.stdout, r.stderr


def test_json_names_the_left_out_line_of_a_file_named_in_no_utf_8(ws: Workspace, tmp_path: Path) -> None:
    day = _odd_session(ws)
    stdout, stderr = _export(ws, tmp_path / "lake", "--json")
    got = json.loads(stdout)
    example = f"{day}/01K6E4Y00000000000000000\\xff.jsonl:2"
    assert (got["sessions"], got["events"]) == (1, 1)
    assert got["left_out"]["lines"] == 1 and got["left_out"]["example"] == example
    assert stderr.rstrip("\n").endswith(f"e.g. {example}")
    stdout, stderr = _export(ws, tmp_path / "lake2")  # without --json: the note names it the same way
    assert stderr.rstrip("\n").endswith(f"e.g. {example}") and "\ufffd" not in stderr
