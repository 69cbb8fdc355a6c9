"""One big write to a pipe whose reader leaves half way: the buffered stream takes part of it and says so only in
its return value, so a command that wrote its output in one piece exited 0 with the output cut (`export -f json
-o - | head -c 100`). It now exits 141, quietly, as the smaller outputs do (docs/cli.md)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from dreamcli.workspace.fsutil import write_fully
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import write_playbook
from tests.support.run import DREAMCLI


class Pipe(io.RawIOBase):
    """A stream that takes at most `take` bytes a write, and whose reader leaves after `room` bytes."""

    def __init__(self, take: int, room: int) -> None:
        self.take, self.room, self.got = take, room, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if len(self.got) >= self.room:
            raise BrokenPipeError(32, "Broken pipe")
        part = bytes(data[:min(self.take, self.room - len(self.got))])
        self.got += part
        return len(part)


def test_write_fully_offers_the_rest_until_the_stream_takes_it_or_raises() -> None:
    whole = Pipe(take=1000, room=10**6)
    write_fully(whole, b"x" * 5500)  # type: ignore[arg-type]
    assert bytes(whole.got) == b"x" * 5500
    with pytest.raises(BrokenPipeError):
        write_fully(Pipe(take=4096, room=5000), b"y" * 20000)  # type: ignore[arg-type]


@pytest.fixture
def big(tmp_path: Path) -> Workspace:
    """A playbook of ~400 KB: its JSON export and its file are each over a pipe's 64 KiB."""
    ws = Workspace(root=tmp_path / "home", source="option").ensure_layout()
    write_playbook(ws, "legal", [(f"pb-{i:08d}", "Tools", "Convert the file first. " * 12) for i in range(1200)])
    return ws


@pytest.mark.skipif(not Path(DREAMCLI).exists(), reason="entry point not installed beside this Python")
@pytest.mark.parametrize("args", [["export", "-f", "json", "-o", "-"], ["playbooks", "show", "legal", "--raw"]],
                         ids=["export-json", "show-raw"])
def test_a_reader_that_leaves_early_ends_the_command_with_141(big: Workspace, args: list[str]) -> None:
    proc = subprocess.Popen([DREAMCLI, "--home", str(big.root), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert len(proc.stdout.read(100)) == 100
    proc.stdout.close()  # what `| head -c 100` does
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert (proc.returncode, stderr) == (141, "")
    trail = big.root / "audit.jsonl"  # nor is a cut export recorded as one
    assert not trail.exists() or all(json.loads(line)["action"] != "export" for line in trail.read_text().splitlines())
