"""The tools' own shell and confinement: behaviour the SDK-free implementation must keep --
syntax errors and `exit` in a persistent shell, bounded output, hard links, images, memory modes."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreamcli.agent.tools import Toolset
from dreamcli.agent.tools.shell import CappedBuffer
from dreamcli.config import Config
from tests.support.tools import call, make_tools


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    d = tmp_path / "wd"
    d.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("top secret\n")
    return d


@pytest.fixture
def tools(tmp_path: Path, wd: Path) -> Iterator[Toolset]:
    config = Config.model_validate({"limits": {"tool_output_bytes": 2000}})
    ts = make_tools(tmp_path, wd, ("bash", "read", "write", "edit", "grep", "memory"), config=config)
    yield ts
    ts.close()


def test_a_syntax_error_is_an_exit_status_and_the_shell_lives_on(tools: Toolset) -> None:
    assert call(tools, "bash", command="export KEEP=1").exit_code == 0
    broken = call(tools, "bash", command='echo "unclosed')
    assert broken.is_error and broken.exit_code == 2
    assert "dreamcli-sh" not in broken.content  # the private script's path is not shown
    assert call(tools, "bash", command="echo $KEEP").content == "1"


def test_exit_ends_the_shell_and_the_next_call_starts_a_fresh_one(tools: Toolset, wd: Path) -> None:
    call(tools, "bash", command="export GONE=1; cd /")
    ended = call(tools, "bash", command="echo bye; exit 3")
    assert ended.exit_code == 3 and "bye" in ended.content and "shell exited" in ended.content
    again = call(tools, "bash", command='echo "${GONE:-fresh}"; pwd')
    assert again.content.splitlines() == ["fresh", str(wd.resolve())]


def test_output_that_looks_like_the_end_marker_is_just_output(tools: Toolset) -> None:
    result = call(tools, "bash", command="printf '__dreamcli_done_0__7\\n'; echo after")
    assert result.exit_code == 0 and result.content == "__dreamcli_done_0__7\nafter"


def test_binary_and_huge_output_stay_bounded(tools: Toolset) -> None:
    binary = call(tools, "bash", command="printf 'a\\xff\\x00b'")
    assert binary.exit_code == 0 and binary.content.startswith("a")
    huge = call(tools, "bash", command="yes line | head -c 20000000; echo; echo last")
    assert huge.truncated and huge.content.endswith("line\n\nlast") and len(huge.content.encode()) <= 2000
    assert "of 20000005 bytes omitted" in huge.content  # the true total, though only head and tail were kept


def test_capped_buffer_keeps_head_tail_and_total() -> None:
    buf = CappedBuffer(4)
    for chunk in (b"abc", b"defgh", b"ij"):
        buf.add(chunk)
    assert bytes(buf.head) == b"abcd" and bytes(buf.tail) == b"ghij" and buf.total == 10 and not buf.complete
    small = CappedBuffer(4)
    small.add(b"abcdef")
    assert small.complete and bytes(small.head) + bytes(small.tail) == b"abcdef"


def test_hard_links_to_files_outside_are_refused(tools: Toolset, wd: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    os.link(secret, wd / "hard.txt")
    for name, input in [("read", {"file_path": "hard.txt"}),
                        ("write", {"file_path": "hard.txt", "content": "pwned"}),
                        ("edit", {"file_path": "hard.txt", "old_string": "top", "new_string": "pwned"})]:
        result = call(tools, name, **input)
        assert result.is_error and result.error_kind == "outside_root", (name, result.content)
    assert secret.read_text() == "top secret\n"
    memories = tmp_path / "home" / "memory" / "default" / "memories"
    os.link(secret, memories / "hard.md")
    for input in ({"command": "view", "path": "/memories/hard.md"},
                  {"command": "create", "path": "/memories/hard.md", "file_text": "pwned"}):
        result = call(tools, "memory", **input)
        assert result.is_error and result.error_kind == "outside_root", (input, result.content)
    assert secret.read_text() == "top secret\n"


def test_images_come_back_as_content_blocks(tools: Toolset, wd: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    (wd / "pic.png").write_bytes(png)
    result = call(tools, "read", file_path="pic.png")
    assert isinstance(result.content, list) and result.content[0]["type"] == "image"
    assert base64.b64decode(result.content[0]["source"]["data"]) == png
    (wd / "blob.bin").write_bytes(b"\xff\xfe\x00")
    assert call(tools, "read", file_path="blob.bin").error_kind == "invalid_input"


def test_memory_files_are_private_and_viewable_by_range(tools: Toolset, tmp_path: Path) -> None:
    memories = tmp_path / "home" / "memory" / "default" / "memories"
    created = call(tools, "memory", command="create", path="/memories/deep/er/n.md", file_text="a\nb\nc\n")
    assert not created.is_error, created.content
    assert oct((memories / "deep").stat().st_mode & 0o777) == "0o700"
    assert oct((memories / "deep" / "er" / "n.md").stat().st_mode & 0o777) == "0o600"
    view = call(tools, "memory", command="view", path="/memories/deep/er/n.md", view_range=[2, 3])
    assert view.content.splitlines()[1:] == ["     2\tb", "     3\tc"]
    twice = call(tools, "memory", command="str_replace", path="/memories/deep/er/n.md", old_str="\n", new_str="")
    assert twice.error_kind == "invalid_input" and "3 times" in twice.content
    assert call(tools, "memory", command="delete", path="/memories").error_kind == "invalid_input"
    assert call(tools, "memory", command="view", path="/memories/none.md").error_kind == "not_found"


def test_grep_skips_binary_files_and_reports_bad_regexes(tools: Toolset, wd: Path) -> None:
    (wd / "bin.dat").write_bytes(b"needle\x00\x01")
    (wd / "text.md").write_text("a needle here\n")
    assert call(tools, "grep", pattern="needle").content == "text.md:1:a needle here"
    assert call(tools, "grep", pattern="(").error_kind == "invalid_input"
    assert call(tools, "grep", pattern="x", path="missing").error_kind == "not_found"


def test_the_shell_works_in_a_process_holding_more_than_1024_files(tools: Toolset) -> None:
    """select() refuses descriptors numbered 1024 and up; a long-lived process (a test runner, a busy lead)
    reaches them, and every bash call failed with `filedescriptor out of range in select()`."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("cannot open 1,100 files here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        result = call(tools, "bash", command="echo ok")  # its pipes get descriptors past 1024
        assert not result.is_error and result.content == "ok", result.content
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
