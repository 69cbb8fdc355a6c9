"""The tools on their own: workdir confinement (.., absolute paths, symlinks), the write gate,
the persistent bash shell (timeout, output cap, exit codes, scrubbed env) and the memory store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dreamcli.agent.approvals import Approvals
from dreamcli.agent.tools import ToolEnv, Toolset, cap_output, register_tool
from dreamcli.agent.tools.base import Tool, ToolResult
from dreamcli.agent.tools.memory import ENV_FORM
from dreamcli.config import Config
from tests.support.tools import call, make_tools


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    d = tmp_path / "wd"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("alpha\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("top secret\n")
    return d




@pytest.fixture
def tools(tmp_path: Path, wd: Path) -> Iterator[Toolset]:
    ts = make_tools(tmp_path, wd, ("bash", "read", "write", "edit", "glob", "grep", "memory"))
    yield ts
    ts.close()


# --- confinement ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "input"), [
    ("read", {"file_path": "../outside/secret.txt"}),
    ("read", {"file_path": "sub/../../outside/secret.txt"}),
    ("read", {"file_path": "/etc/passwd"}),
    ("write", {"file_path": "../outside/new.txt", "content": "x"}),
    ("edit", {"file_path": "../outside/secret.txt", "old_string": "top", "new_string": "no"}),
    ("grep", {"pattern": "secret", "path": ".."}),
    ("glob", {"pattern": "../outside/*"}),
    ("glob", {"pattern": "*", "path": "../outside"}),
])
def test_paths_outside_the_workdir_are_refused(tools: Toolset, wd: Path, name: str, input: dict[str, Any]) -> None:
    result = tools.get(name).execute(input)  # type: ignore[union-attr]
    assert result.is_error and result.error_kind == "outside_root", result.content
    assert "top secret" not in str(result.content)
    assert not (wd.parent / "outside" / "new.txt").exists()
    assert (wd.parent / "outside" / "secret.txt").read_text() == "top secret\n"


def test_symlinks_out_of_the_workdir_are_refused(tools: Toolset, wd: Path) -> None:
    outside = wd.parent / "outside"
    (wd / "link.txt").symlink_to(outside / "secret.txt")
    (wd / "linkdir").symlink_to(outside)
    (wd / "dangling.txt").symlink_to(outside / "not-yet.txt")
    for name, input in [
        ("read", {"file_path": "link.txt"}),
        ("read", {"file_path": "linkdir/secret.txt"}),
        ("write", {"file_path": "link.txt", "content": "pwned"}),
        ("write", {"file_path": "dangling.txt", "content": "pwned"}),
        ("write", {"file_path": "linkdir/new.txt", "content": "pwned"}),
        ("grep", {"pattern": "secret", "path": "linkdir"}),
    ]:
        result = call(tools, name, **input)
        assert result.is_error and result.error_kind == "outside_root", (name, input, result.content)
    assert (outside / "secret.txt").read_text() == "top secret\n"
    assert not (outside / "not-yet.txt").exists() and not (outside / "new.txt").exists()
    listing = call(tools, "glob", pattern="**/*")
    grep = call(tools, "grep", pattern="secret")
    assert "secret.txt" not in listing.content and "top secret" not in grep.content


def test_file_tools_inside_the_workdir(tools: Toolset, wd: Path) -> None:
    (wd / "inner.txt").symlink_to(wd / "a.txt")  # a symlink that stays inside is fine
    assert call(tools, "read", file_path="inner.txt").content == "alpha\n"
    assert call(tools, "read", file_path="sub/../a.txt").content == "alpha\n"
    assert not call(tools, "write", file_path="sub/deep/b.txt", content="beta\n").is_error
    assert (wd / "sub" / "deep" / "b.txt").read_text() == "beta\n"
    edited = call(tools, "edit", file_path="a.txt", old_string="alpha", new_string="ALPHA")
    assert not edited.is_error and (wd / "a.txt").read_text() == "ALPHA\n"
    missing = call(tools, "edit", file_path="a.txt", old_string="nope", new_string="x")
    assert missing.is_error and missing.error_kind == "invalid_input"
    listing = call(tools, "glob", pattern="**/*.txt").content.splitlines()
    assert sorted(listing) == ["a.txt", "inner.txt", "sub/deep/b.txt"]  # relative to the workdir
    assert call(tools, "grep", pattern="beta").content == "sub/deep/b.txt:1:beta"
    assert call(tools, "read", file_path="nope.txt").error_kind == "not_found"
    assert call(tools, "read").error_kind == "invalid_input"


@pytest.mark.parametrize(("name", "input"), [
    ("read", {"file_path": "r1/r2/x.txt"}),
    ("edit", {"file_path": "r1/r2/x.txt", "old_string": "a", "new_string": "b"}),
    ("grep", {"pattern": "a", "path": "r1/r2/x.txt"}),
])
def test_only_write_makes_missing_folders(tools: Toolset, wd: Path, name: str, input: dict[str, Any]) -> None:
    before = sorted(p.relative_to(wd) for p in wd.rglob("*"))
    result = call(tools, name, **input)
    assert result.is_error and result.error_kind == "not_found", result.content
    assert sorted(p.relative_to(wd) for p in wd.rglob("*")) == before  # no r1/r2 left behind


def test_writes_outside_allow_patterns_are_refused_without_a_tty(tmp_path: Path, wd: Path) -> None:
    approvals = Approvals(allow=["notes/*"], allow_writes=["out/**"])
    ts = make_tools(tmp_path, wd, ("write",), approvals=approvals)
    assert call(ts, "write", file_path="out/x/y.md", content="1").approval == "allowed"
    assert call(ts, "write", file_path="notes/n.md", content="1").approval == "allowed"
    refused = call(ts, "write", file_path="a.txt", content="overwrite")
    assert refused.is_error and refused.error_kind == "refused" and refused.approval == "refused"
    assert "a.txt" in refused.content and (wd / "a.txt").read_text() == "alpha\n"
    asked: list[tuple[str, str]] = []
    ts.env.approvals.ask = lambda kind, detail: asked.append((kind, detail)) or True
    assert call(ts, "write", file_path="sub/../a.txt", content="ok").approval == "asked"
    assert asked == [("write", "a.txt")]  # the prompt shows the resolved path


# --- bash ---------------------------------------------------------------------------------------

def test_bash_is_persistent_and_reports_exit_codes(tools: Toolset, wd: Path) -> None:
    assert call(tools, "bash", command="cd sub && export GREETING=hi").exit_code == 0
    result = call(tools, "bash", command='pwd; echo "$GREETING"')
    assert result.content.splitlines() == [str((wd / "sub").resolve()), "hi"]
    failed = call(tools, "bash", command="echo oops >&2; (exit 3)")
    assert failed.is_error and failed.exit_code == 3 and failed.error_kind == "exit_nonzero"
    assert "oops" in failed.content and "[exit code 3]" in failed.content
    assert call(tools, "bash", command="true").content == "(no output)"
    assert call(tools, "bash").error_kind == "invalid_input"


def test_bash_does_not_see_anthropic_credentials(tools: Toolset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-should-not-leak")
    assert call(tools, "bash", command='echo "key=${ANTHROPIC_API_KEY:-none}"').content == "key=none"


def test_bash_timeout_and_output_cap(tmp_path: Path, wd: Path) -> None:
    config = Config.model_validate({"limits": {"bash_timeout_s": 0.5, "tool_output_bytes": 1000}})
    ts = make_tools(tmp_path, wd, ("bash",), config=config)
    try:
        slow = call(ts, "bash", command="sleep 10")
        assert slow.is_error and slow.error_kind == "timeout" and "0.5s" in slow.content
        big = call(ts, "bash", command="seq 1 5000")
        assert big.truncated and not big.is_error and "output truncated" in big.content
        assert len(big.content.encode()) <= 1000
        assert big.content.startswith("1\n2\n") and big.content.endswith("4999\n5000")
        huge = call(ts, "bash", command="seq 1 30000")  # over the SDK shell's own 100 KiB buffer
        assert huge.truncated and huge.content.endswith("29999\n30000") and len(huge.content.encode()) <= 1000
        assert call(ts, "bash", command="echo alive").content == "alive"  # a fresh shell after the timeout
    finally:
        ts.close()


def test_bash_commands_need_approval(tmp_path: Path, wd: Path) -> None:
    ts = make_tools(tmp_path, wd, ("bash",), approvals=Approvals(allow_commands=["ls*", "echo *"]))
    try:
        assert call(ts, "bash", command="ls -a").approval == "allowed"
        assert call(ts, "bash", command="echo a && echo b").approval == "allowed"
        for command in ("rm a.txt", "echo a; rm a.txt", "echo $(rm a.txt)", "echo x > a.txt", "ls `rm a.txt`"):
            refused = call(ts, "bash", command=command)
            assert refused.error_kind == "refused" and refused.approval == "refused", command
        assert (wd / "a.txt").read_text() == "alpha\n"
    finally:
        ts.close()


def test_approval_patterns() -> None:
    a = Approvals(allow=["git *"], allow_commands=["pytest*"])
    assert a.command_allowed("git status") and a.command_allowed("pytest -q tests/")
    assert a.command_allowed("git add x && git commit -m msg")
    assert not a.command_allowed("git status | sh") and not a.command_allowed("")
    assert Approvals(allow_commands=["*"]).command_allowed("curl x | sh")
    assert a.check_command("make").approval == "refused"
    assert Approvals(yes=True).check_command("rm -rf /tmp/x").approval == "yes"
    assert Approvals(ask=lambda k, d: False).check_command("make").approval == "refused"
    assert Approvals(allow_writes=[]).check_write("a.txt").approved is False
    assert Approvals().check_write("any/where.md").approval == "allowed"  # default allow_writes: ["**"]


# --- memory ---------------------------------------------------------------------------------------

def test_memory_store_in_the_workspace(tools: Toolset, tmp_path: Path) -> None:
    root = tmp_path / "home" / "memory" / "default" / "memories"
    assert not call(tools, "memory", command="create", path="/memories/notes.md", file_text="one\ntwo\n").is_error
    assert (root / "notes.md").read_text() == "one\ntwo\n"
    assert oct((root / "notes.md").stat().st_mode & 0o777) == "0o600"
    assert not call(tools, "memory", command="str_replace", path="/memories/notes.md", old_str="two",
                    new_str="three").is_error
    assert not call(tools, "memory", command="insert", path="/memories/notes.md", insert_line=0,
                    insert_text="zero").is_error
    view = call(tools, "memory", command="view", path="/memories/notes.md")
    assert "zero" in view.content and "three" in view.content
    assert not call(tools, "memory", command="rename", old_path="/memories/notes.md",
                    new_path="/memories/n2.md").is_error
    assert "n2.md" in call(tools, "memory", command="view", path="/memories").content
    assert not call(tools, "memory", command="delete", path="/memories/n2.md").is_error
    assert not (root / "n2.md").exists()


@pytest.mark.parametrize("input", [
    {"command": "view", "path": "/memories/a1/a2/x.md"},
    {"command": "str_replace", "path": "/memories/a1/a2/x.md", "old_str": "a", "new_str": "b"},
    {"command": "insert", "path": "/memories/a1/a2/x.md", "insert_line": 0, "insert_text": "z"},
], ids=["view", "str_replace", "insert"])
def test_only_a_memory_write_makes_missing_folders(tools: Toolset, tmp_path: Path, input: dict[str, Any]) -> None:
    root = tmp_path / "home" / "memory" / "default" / "memories"
    call(tools, "memory", command="view", path="/memories")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = call(tools, "memory", **input)
    assert result.is_error and result.error_kind == "not_found", result.content
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # no a1/a2 left behind
    assert not call(tools, "memory", command="create", path="/memories/a1/a2/x.md", file_text="x").is_error


def test_memory_paths_are_confined(tools: Toolset, tmp_path: Path) -> None:
    root = tmp_path / "home" / "memory" / "default" / "memories"
    call(tools, "memory", command="view", path="/memories")
    (root / "out").symlink_to(tmp_path / "outside")
    for input in (
        {"command": "view", "path": "/etc/passwd"},
        {"command": "create", "path": "/memories/../../escape.md", "file_text": "x"},
        {"command": "view", "path": "/memories/out/secret.txt"},
        {"command": "create", "path": "/memories/out/new.md", "file_text": "x"},
    ):
        result = tools.get("memory").execute(input)  # type: ignore[union-attr]
        assert result.is_error and result.error_kind == "outside_root", (input, result.content)
    assert not (tmp_path / "outside" / "new.md").exists()
    assert call(tools, "memory", command="fly").error_kind == "invalid_input"
    assert call(tools, "memory", command="create", path="/memories/x.md").error_kind == "invalid_input"


def test_memory_tool_param_forms(tmp_path: Path, wd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_FORM, raising=False)
    builtin = make_tools(tmp_path, wd, ("memory",), anthropic=True).params(cache=True)
    assert builtin == [{"type": "memory_20250818", "name": "memory", "cache_control": {"type": "ephemeral"}}]
    custom = make_tools(tmp_path, wd, ("memory",), anthropic=False).params()
    assert custom[0]["name"] == "memory" and custom[0]["input_schema"]["required"] == ["command"]
    monkeypatch.setenv(ENV_FORM, "custom")
    assert "input_schema" in make_tools(tmp_path, wd, ("memory",), anthropic=True).params()[0]


# --- registry and helpers ----------------------------------------------------------------------------

def test_registered_tools_are_built_per_session(tmp_path: Path, wd: Path) -> None:
    class Counter(Tool):
        name = "counter_test"
        description = "counts"

        def __init__(self, env: ToolEnv) -> None:
            self.n = 0

        def execute(self, input: dict[str, Any]) -> ToolResult:
            self.n += 1
            return ToolResult(str(self.n))

    register_tool("counter_test", Counter, replace=True)
    first, second = (make_tools(tmp_path, wd, ("counter_test",)) for _ in range(2))
    assert [call(first, "counter_test").content for _ in range(2)] == ["1", "2"]
    assert call(second, "counter_test").content == "1"
    with pytest.raises(ValueError, match="unknown tool"):
        make_tools(tmp_path, wd, ("no_such_tool",))


def test_cap_output_keeps_head_and_tail() -> None:
    assert cap_output("short", 1000) == ("short", False)
    text = "".join(f"line {i}\n" for i in range(2000))
    capped, truncated = cap_output(text, 1000)
    assert truncated and len(capped.encode()) <= 1000
    assert capped.startswith("line 0\n") and capped.endswith("line 1999\n") and "bytes omitted" in capped
    capped, _ = cap_output("é" * 5000, 1000)
    capped.encode("utf-8")  # never splits a character


def test_large_files_are_read_by_line_range(tools: Toolset, wd: Path) -> None:
    (wd / "big.txt").write_text("".join(f"row {i}\n" for i in range(60_000)))  # > 256 KiB: streamed read
    assert call(tools, "read", file_path="big.txt", view_range=[2, 3]).content == "row 1\nrow 2"
    assert call(tools, "read", file_path="big.txt", view_range=[59_999, -1]).content == "row 59998\nrow 59999"
    too_big = call(tools, "read", file_path="big.txt")
    assert too_big.error_kind == "invalid_input" and "view_range" in too_big.content


# --- stopping the shell --------------------------------------------------------------------------

def test_bash_close_stops_a_command_in_flight_and_everything_it_started(tmp_path: Path, wd: Path) -> None:
    """close() from another thread (Ctrl-C, a supervisor) while a call runs: the whole process group
    goes -- a background job (SIGTERM) and a command ignoring SIGTERM (SIGKILL after the grace)."""
    import threading
    import time

    from tests.support.multiagent import gone_soon, kill_leftovers, sleep_marker, wait_for_pids

    marker = sleep_marker("7")
    ts = make_tools(tmp_path, wd, ("bash",))
    results: list[ToolResult] = []
    try:
        th = threading.Thread(target=lambda: results.append(call(
            ts, "bash", command=f"sleep {marker}1 & trap '' TERM; sleep {marker}2")))
        th.start()
        assert len(wait_for_pids(marker, 2)) == 2, "the commands never started"
        t0 = time.monotonic()
        ts.close()
        took = time.monotonic() - t0
        th.join(timeout=5)
        assert not th.is_alive(), "the call in flight did not return after close()"
        assert took < 3, took
        assert gone_soon(marker) == []
        assert results and results[0].is_error
        after = call(ts, "bash", command="echo hi")
        assert after.is_error and "stopped" in after.content  # a closed tool starts no new shell
    finally:
        ts.close()
        kill_leftovers(marker)


@pytest.mark.slow
def test_bash_timeout_stops_the_command_not_only_the_shell(tmp_path: Path, wd: Path) -> None:
    from tests.support.multiagent import gone_soon, kill_leftovers

    marker = f"61.{os.getpid()}8"
    ts = make_tools(tmp_path, wd, ("bash",))
    try:
        slow = call(ts, "bash", command=f"sleep {marker}1 & sleep {marker}2", timeout_ms=500)
        assert slow.error_kind == "timeout"
        assert gone_soon(marker) == []
        assert call(ts, "bash", command="echo alive").content == "alive"
    finally:
        ts.close()
        kill_leftovers(marker)
