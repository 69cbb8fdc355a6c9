"""What `cloud memory push` prints. Piped or to a file, each change and each conflict line is one line, as
scripts and CI logs read it (COLUMNS or not). On a terminal the lines wrap between words to its width,
and a path, id or hash is never cut: a path with spaces stays on one line, and a token longer than the
width stands whole on a line of its own."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import dreamcli.cloud.dream_job as dream_job
from dreamcli.testing import FakeAnthropic
from dreamcli.ui import cloud_view
from dreamcli.workspace.home import Workspace
from tests.cloud.helpers import cli, cli_json, data, requires_managed_agents

pytestmark = [requires_managed_agents, pytest.mark.timeout(90)]

SPACED = "/notes/client onboarding checklist for the legal team.md"
LONG = "/notes/contracts/client-onboarding-checklist-for-the-legal-team-2026.md"
HASH_A, HASH_B = "a" * 64, "b" * 64


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dream_job, "FIRST_POLL_S", 0.001)


def _push(ws: Workspace, store: str, columns: str | None) -> Any:
    from dreamcli.cli.app import app

    env = {"DREAMCLI_ACTOR": "tester", "NO_COLOR": "1", "COLUMNS": columns}  # None: unset
    return CliRunner().invoke(app, ["--home", str(ws.root), "cloud", "memory", "push", "default", "--store", store],
                              env=env)


def _approved_update(server: FakeAnthropic, ws: Workspace, path: str) -> str:
    """A store whose memory at `path` an approved cloud-dream entry updates."""
    d = data(server)
    store = d.add_store(memories={path: "old\n"})
    d.add_session(store_ids=[store], status="terminated")
    d.script_dream(writes={path: "new text from the dream\n"})
    made = cli_json(ws, "cloud", "dream", "--store", store)["dreams"][0]
    result = cli(ws, "playbooks", "approve", made["dream_id"], "--all", "--yes")
    assert result.exit_code == 0, result.stderr
    return store


@pytest.mark.parametrize("columns", [None, "40"])
def test_piped_each_change_is_one_line(fake_anthropic: FakeAnthropic, ws: Workspace, columns: str | None) -> None:
    store = _approved_update(fake_anthropic, ws, LONG)

    result = _push(ws, store, columns)

    assert result.exit_code == 0, result.stderr
    [header, change] = result.stdout.splitlines()
    assert header == (f"pushed 1 change to memory store {store} (playbook default); 0 memories already up to "
                      "date")
    version = (data(fake_anthropic).find_memory(store, LONG) or {})["memory_version_id"]
    assert change.startswith(f"  ~ update {LONG}  (dream:") and change.endswith(f")  [{version}]"), change


@pytest.mark.parametrize("columns", [None, "40"])
def test_piped_a_conflict_is_printed_as_before_one_line_per_item(fake_anthropic: FakeAnthropic, ws: Workspace,
                                                                 columns: str | None) -> None:
    store = _approved_update(fake_anthropic, ws, SPACED)
    d = data(fake_anthropic)
    old = (d.find_memory(store, SPACED) or {})["content_sha256"]
    cloud = d.write_memory(store, SPACED, "edited in the console by bob\n")

    result = _push(ws, store, columns)

    assert result.exit_code == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"pushed 0 changes to memory store {store} (playbook default); 0 memories already up to date",
        f"  ! conflict update {SPACED}: changed in the cloud since the last pull",
        f"      last pulled sha256 {old}; cloud now {cloud['content_sha256']} (version {cloud['memory_version_id']})",
        "      cloud has:",
        "        | edited in the console by bob",
        "      you push:",
        "        | new text from the dream",
    ]


def _result(path: str, version: str = "memver_01ABCDEFGHIJKLMNOPQRSTUV") -> SimpleNamespace:
    change = SimpleNamespace(op="update", path=path, source="dream:01M97DG27AKRYFGFDGA0BTCMWE:mem-50e8d4619c",
                             memory_version_id=version, status="done")
    conflict = SimpleNamespace(op="update", path=path, reason="changed in the cloud since the last pull",
                               expected_sha256=HASH_A, cloud_sha256=HASH_B, cloud_version_id=version,
                               cloud_content="edited in the console by bob, who wanted a line that runs on well past "
                                             "forty columns\n", local_content="new text\n")
    return SimpleNamespace(dry_run=False, changes=[change], conflicts=[conflict], skipped=[],
                           store_id="memstore_01EYAQKHAHPwkl2bWSqMsAgw", playbook="default", unchanged=0)


def _on_a_terminal(monkeypatch: pytest.MonkeyPatch, width: int) -> io.StringIO:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=width, color_system=None, highlight=False)
    monkeypatch.setattr(cloud_view, "out", lambda: console)
    return buffer


@pytest.mark.parametrize("width", [40, 60, 80])
def test_on_a_terminal_a_path_with_spaces_is_never_split(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    buffer = _on_a_terminal(monkeypatch, width)

    cloud_view.render_push(_result(SPACED))

    lines = buffer.getvalue().splitlines()
    assert sum(SPACED in ln for ln in lines) == 2, "\n".join(lines)  # the change and the conflict, each whole
    whole = {SPACED, f"{SPACED}:", HASH_A, HASH_B, f"({_result(SPACED).changes[0].source})"}
    for ln in lines:  # within the width, but for a line holding only one token longer than it
        assert len(ln) <= width or ln.strip() in whole, "\n".join(lines)
    words = buffer.getvalue().split()
    assert HASH_A in words and HASH_B in words and words.count("(version") == 1


def test_on_a_terminal_a_token_longer_than_the_width_stands_whole_on_its_own_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = _on_a_terminal(monkeypatch, 40)
    spaced_long = "/notes/a folder with a long name/and a file in it that runs on.md"

    cloud_view.render_push(_result(spaced_long))

    lines = buffer.getvalue().splitlines()
    assert f"      {spaced_long}" in lines, "\n".join(lines)  # the change's path: hanging indent, then the path
    assert f"      ({_result(LONG).changes[0].source})" in lines, "\n".join(lines)
    assert f"        {HASH_A}" in lines and any(ln.strip() == HASH_B for ln in lines), "\n".join(lines)


def test_on_a_terminal_a_placeholder_character_in_the_path_comes_back_as_it_was(
        monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = _on_a_terminal(monkeypatch, 40)
    odd = "/notes/\ue000 private use \ue001 and a space.md"

    cloud_view.render_push(_result(odd))

    assert sum(odd in ln for ln in buffer.getvalue().splitlines()) == 2, buffer.getvalue()


def test_a_real_terminal_wraps_and_a_pipe_does_not(fake_anthropic: FakeAnthropic, ws: Workspace) -> None:
    """The same push, its stdout a pseudo-terminal 60 columns wide: wrapped there, the path kept whole."""
    import fcntl
    import pty
    import struct
    import termios

    store = _approved_update(fake_anthropic, ws, SPACED)
    data(fake_anthropic).write_memory(store, SPACED, "edited in the console by bob\n")
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(NO_COLOR="1", DREAMCLI_ACTOR="tester")
    proc = subprocess.Popen([sys.executable, "-m", "dreamcli", "--home", str(ws.root), "cloud", "memory", "push",
                             "default", "--store", store], stdin=subprocess.DEVNULL, stdout=secondary,
                            stderr=subprocess.PIPE, env=env, close_fds=True)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert proc.wait(timeout=60) == 1, proc.stderr.read() if proc.stderr else ""
    lines = b"".join(chunks).decode().replace("\r\n", "\n").splitlines()
    long = [ln.strip() for ln in lines if len(ln) > 60]  # a hash, or the path, each whole on its own line
    assert long and all(len(ln.split()) == 1 or ln == f"{SPACED}:" for ln in long), "\n".join(lines)
    assert lines[0].startswith("pushed 0 changes to memory store") and lines[1].startswith("    "), lines
    assert f"      {SPACED}:" in lines and json.dumps(lines).count("sha256") == 2, "\n".join(lines)


def test_a_second_push_says_the_approved_entry_was_pushed_before(fake_anthropic: FakeAnthropic,
                                                                 ws: Workspace) -> None:
    """The approved dream entry the first push sent is not sent or compared again: the second push said
    "0 memories already up to date", as if nothing were in sync."""
    store = _approved_update(fake_anthropic, ws, LONG)
    assert _push(ws, store, None).exit_code == 0
    again = _push(ws, store, None)
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines() == [
        f"pushed 0 changes to memory store {store} (playbook default); 0 memories already up to date; 1 approved "
        "dream entry pushed before (not sent again)"]
