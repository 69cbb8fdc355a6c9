"""`doctor`'s disk line: a FAIL (exit 1) when the file system holding the workspace is full, found by a probe write
in `state/` that is removed again (a real 1 MB tmpfs, full of bytes or of inodes; skipped where mounting is not
permitted), and a WARN that states its thresholds when free space or inodes run low (`os.statvfs` faked)."""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dreamcli import doctor, modelreach
from dreamcli.cli.app import app
from dreamcli.doctor.disk import check_disk
from dreamcli.workspace.home import Workspace
from tests.support.mounts import tmpfs

MB = 1_000_000


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """No model call, no tool probes, no workspace or key from the environment."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "DREAMCLI_HOME", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(doctor, "check_tools", lambda names=(): [])
    monkeypatch.setattr(modelreach, "reach", lambda timeout: None)


def _doctor(root: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(root), "doctor", *args], catch_exceptions=False)


def _disk(root: Path) -> tuple[int, dict[str, str]]:
    r = _doctor(root, "--json")
    return r.exit_code, next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "disk")


def _files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.fixture
def tiny(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A real tmpfs of 1 MB (`request.param`: more mount options) at tmp_path/mnt; skipped unless mounting works."""
    options = ",".join(["size=1m", *([request.param] if getattr(request, "param", "") else [])])
    with tmpfs(tmp_path / "mnt", options) as mnt:
        yield mnt


def _fill(mnt: Path, inodes: bool) -> Path:
    """Use up the file system's bytes (one file of zeros) or its inodes (empty files) until ENOSPC."""
    fill = mnt / "fill"
    fill.mkdir()
    n = 0
    try:
        while True:
            fd = os.open(fill / str(n), os.O_WRONLY | os.O_CREAT, 0o600)
            n += 1
            try:
                while not inodes:
                    os.write(fd, b"\0" * 4096)
            finally:
                os.close(fd)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    return fill


@pytest.mark.parametrize(("tiny", "inodes"), [("", False), ("nr_inodes=64", True)], indirect=["tiny"],
                         ids=["bytes", "inodes"])
def test_a_full_disk_fails_and_the_probe_is_removed(tiny: Path, inodes: bool) -> None:
    root = Workspace(tiny / "ws", "option").ensure_layout().root
    fill = _fill(tiny, inodes)
    before = _files(tiny)
    code, disk = _disk(root)
    assert code == 1 and disk["status"] == "fail", disk
    assert disk["detail"] == (f"full: cannot write a file in {root / 'state'} (no space left on device); every "
                              "command that writes there stops (exit 74)")
    assert disk["fix"].startswith(f"free some space (df -h {root}; df -i for inodes)")
    assert _files(tiny) == before  # no probe left behind
    text = _doctor(root)
    assert text.exit_code == 1 and "FAIL  disk" in text.stdout and "1 failure" in text.stderr
    for f in fill.iterdir():
        f.unlink()
    emptied = _files(tiny)
    code, disk = _disk(root)  # room again, but 1 MB is below the threshold
    assert code == 0 and disk["status"] == "warn", disk
    assert re.fullmatch(rf"only [\d.]+ [kM]B free \([\d.]+%\) on the file system of {re.escape(str(root))} "
                        r"\(WARN below 100 MB or 1% free\)", disk["detail"]), disk["detail"]
    assert _files(tiny) == emptied


def _fake_statvfs(monkeypatch: pytest.MonkeyPatch, *, free: int, size: int, inodes_free: int = 900_000,
                  inodes: int = 1_000_000) -> None:
    def statvfs(path: Any) -> os.statvfs_result:
        return os.statvfs_result((4096, 1, size, free, free, inodes, inodes_free, inodes_free, 0, 255))

    monkeypatch.setattr(os, "statvfs", statvfs)


@pytest.mark.parametrize(("free", "size", "inodes_free", "inodes", "status", "said"), [
    (50 * MB, 500_000 * MB, 900_000, 1_000_000, "warn", "only 50.0 MB free (0.0%) on the file system of"),
    (50_000 * MB, 10_000_000 * MB, 900_000, 1_000_000, "warn", "only 50.0 GB free (0.5%) on the file system of"),
    (200 * MB, 1_000 * MB, 500, 1_000_000, "warn", "only 500 inodes free (0.1%) on the file system of"),
    (200 * MB, 1_000 * MB, 5_000, 10_000, "ok", "200.0 MB (20%) and 5,000 inodes (50%) free"),
    (200 * MB, 1_000 * MB, 0, 0, "ok", "200.0 MB (20%) and no inode limit free"),
])
def test_the_thresholds_are_stated_and_only_warn(ws: Workspace, monkeypatch: pytest.MonkeyPatch, free: int,
                                                 size: int, inodes_free: int, inodes: int, status: str,
                                                 said: str) -> None:
    _fake_statvfs(monkeypatch, free=free, size=size, inodes_free=inodes_free, inodes=inodes)
    (line,) = check_disk(ws)
    assert (line.name, line.status) == ("disk", status) and line.detail.startswith(said), line.detail
    assert line.detail.endswith("(WARN below 100 MB or 1% free)")
    assert ("free some space" in line.fix) is (status == "warn")


def test_a_low_disk_is_a_warning_line_not_a_failure(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_statvfs(monkeypatch, free=20 * MB, size=100_000 * MB)
    r = _doctor(ws.root)
    assert r.exit_code == 0, r.output
    (line,) = [x for x in r.stdout.splitlines() if x.split()[1:2] == ["disk"]]
    assert line.startswith("WARN  disk") and "only 20.0 MB free (0.0%)" in line and "below 100 MB or 1% free" in line
    assert f"fix: free some space (df -h {ws.root}" in line and "no failures" in r.stderr


def test_a_quota_reached_fails_and_the_probe_is_removed(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _files(ws.root)

    def over_quota(fd: int) -> None:
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    monkeypatch.setattr(os, "fsync", over_quota)
    (line,) = check_disk(ws)
    assert line.status == "fail" and "(disk quota exceeded)" in line.detail and line.detail.startswith("full: ")
    assert _files(ws.root) == before


@pytest.mark.parametrize("tiny", ["size=0"], indirect=True)  # tmpfs size=0: no limit, and f_blocks 0
def test_a_file_system_that_reports_no_size_is_not_held_to_the_thresholds(tiny: Path) -> None:
    root = Workspace(tiny / "ws", "option").ensure_layout().root
    assert os.statvfs(tiny).f_blocks == 0
    code, disk = _disk(root)
    assert code == 0 and disk["status"] == "ok", disk
    assert disk["detail"].startswith("no size reported and ")
    assert disk["detail"].endswith(f"(WARN below 100 MB or 1% free); a file can be written in {root / 'state'}")


def test_no_size_reported_and_few_inodes_warns_of_the_inodes_only(ws: Workspace,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_statvfs(monkeypatch, free=0, size=0, inodes_free=5, inodes=1_000_000)
    (line,) = check_disk(ws)
    assert line.status == "warn" and line.detail.startswith("only 5 inodes free (0.0%) on the file system of")
    assert "bytes free" not in line.detail and line.detail.endswith(f"; a file can be written in {ws.state_dir}")
    _fake_statvfs(monkeypatch, free=0, size=0)
    (line,) = check_disk(ws)
    assert line.status == "ok" and line.detail == ("no size reported and 900,000 inodes (90%) free (WARN below 100 MB "
                                                   f"or 1% free); a file can be written in {ws.state_dir}")


def test_no_probe_outside_state_where_no_sweep_would_find_it(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from dreamcli.doctor import disk

    shutil.rmtree(ws.state_dir)
    probed: list[Path] = []
    monkeypatch.setattr(disk, "probe_write", probed.append)
    _fake_statvfs(monkeypatch, free=200 * MB, size=1_000 * MB)
    (line,) = check_disk(ws)
    assert probed == [] and line.status == "ok"
    assert line.detail.endswith(f"free (WARN below 100 MB or 1% free); no write tried ({ws.state_dir} is missing)")
    assert not ws.state_dir.exists()
    ws.state_dir.mkdir()
    (line,) = check_disk(ws)
    assert probed == [ws.state_dir] and line.detail.endswith("(WARN below 100 MB or 1% free)")
