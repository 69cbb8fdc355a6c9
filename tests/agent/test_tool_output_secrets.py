"""A secret where the tool output cap cuts the output never reaches the model or the session log, in whole
or in part: the output is redacted before it is cut (before, the cut came first, and a token's tail kept
after the marker matched no rule: 30 of a `ghp_` token's 36 characters went to the model and the log).
Every cut position across a token, head side and tail side, for `read` and `bash`; for `bash` also where
the shell's head and tail buffers end (a command that printed more than they hold)."""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreamcli.agent import RunOptions, prompt_spec, run_agent
from dreamcli.agent.tools import Toolset
from dreamcli.agent.tools.credentials import run_redactor
from dreamcli.agent.tools.result import EDGE_GUARD, MARKER_ROOM, cap_output, without_edges
from dreamcli.config import Config
from dreamcli.orchestration.subagents import SubagentResult, format_results
from dreamcli.redaction import MARKER_RE, default_redactor
from dreamcli.testing import FakeAnthropic, text_reply, tool_reply, tool_use
from dreamcli.workspace.home import Workspace
from tests.support.run import Recorder
from tests.support.tools import call, make_tools

LIMIT = 1000  # the smallest tool_output_bytes config allows: the fewest bytes to write per case
HEAD = (LIMIT - MARKER_ROOM) // 2  # bytes of the output kept before the marker ...
TAIL = LIMIT - MARKER_ROOM - HEAD  # ... and after it
TOKENS = {
    "github": "ghp_4zGaBC4q04k3nlafjfGjK9QtSzGhqdVByhbG",
    "anthropic": "sk-ant-api03-Zq3vK9xW2mP7rT5yL8nB4cH6jD1fG0sA9eU2iO7pQ3wE5rTyU",
}
FILL = "."  # matches no rule and appears in no token
COUNTS = re.compile(r"\[\.\.\. output truncated: (\d+) of (\d+) bytes omitted \.\.\.\]")


def private_key(size: int) -> str:
    """A PEM private key block of about `size` characters (redacted whole: to some 25)."""
    line = "MIIEowIBAAKCAQEAx7Qk2Vn9TzYp4LmWc8RfBd3Gh6Js1KuXa0Po5Ei8Tz2Vn9Ty\n"
    return "-----BEGIN RSA PRIVATE KEY-----\n" + line * (size // len(line)) + "-----END RSA PRIVATE KEY-----\n"


def leaked(token: str, text: str) -> list[str]:
    """The 5-character pieces of `token` (each holds a character of its body) found in `text`."""
    return [token[i:i + 5] for i in range(len(token) - 4) if token[i:i + 5] in text]


def head_cut(token: str, into: int, size: int = 3 * LIMIT) -> str:
    """Output whose head, cut before redaction at HEAD bytes, would keep the first `into` characters of `token`."""
    before = "TOKEN=" + FILL * (HEAD - into - 6)
    return before + token + "\n" + FILL * (size - len(before) - len(token) - 1)


def tail_cut(token: str, into: int, size: int = 3 * LIMIT) -> str:
    """Output whose tail, cut before redaction `TAIL` bytes from the end, would keep the characters of `token` from
    `into` on."""
    after = FILL * (TAIL - (len(token) - into))
    return FILL * (size - len(after) - len(token) - 6) + "TOKEN=" + token + after


def cases(size: int = 3 * LIMIT) -> Iterator[tuple[str, str, str]]:
    """(a name, the token, the output) for every cut position across each token, head side and tail side."""
    for kind, token in TOKENS.items():
        for into in range(1, len(token)):
            yield f"{kind} head {into}", token, head_cut(token, into, size)
            yield f"{kind} tail {into}", token, tail_cut(token, into, size)


@pytest.fixture
def wd(tmp_path: Path) -> Path:
    d = tmp_path / "wd"
    d.mkdir()
    return d


@pytest.fixture
def tools(tmp_path: Path, wd: Path) -> Iterator[Toolset]:
    config = Config.model_validate({"limits": {"tool_output_bytes": LIMIT}})
    ts = make_tools(tmp_path, wd, ("read", "bash"), config=config)
    yield ts
    ts.close()


def test_cap_output_redacts_before_it_cuts() -> None:
    for name, token, text in cases():
        out, truncated = cap_output(text, LIMIT)
        assert truncated and len(out.encode()) <= LIMIT, name
        assert not leaked(token, out), (name, out)
        assert "[REDACTED:" in out or token not in text[:HEAD] + text[-TAIL:], name


def test_read_never_shows_part_of_a_cut_secret(tools: Toolset, wd: Path) -> None:
    for name, token, text in cases():
        (wd / "out.txt").write_text(text)
        out = call(tools, "read", file_path="out.txt")
        assert out.truncated and not out.is_error and len(str(out.content).encode()) <= LIMIT, name
        assert not leaked(token, str(out.content)), (name, out.content)


def test_bash_never_shows_part_of_a_cut_secret(tools: Toolset, wd: Path) -> None:
    for i, (_name, _token, text) in enumerate(cases()):
        (wd / f"out{i}.txt").write_text(text)
    for i, (name, token, _text) in enumerate(cases()):
        out = call(tools, "bash", command=f"cat out{i}.txt")
        assert out.truncated and len(str(out.content).encode()) <= LIMIT, name
        assert not leaked(token, str(out.content)), (name, out.content)


def printing(wd: Path, before: int, middle: str, size: int, lead: str = "", trail: str = "") -> str:
    """A command that prints `lead`, FILL up to `before` bytes, `middle`, FILL, and `trail` ending at `size` bytes."""
    if not (wd / "fill").exists():
        (wd / "fill").write_text(FILL * size)
    for name, text in (("lead", lead), ("middle", middle), ("trail", trail)):
        (wd / name).write_text(text)
    after = size - before - len(middle) - len(trail)
    assert before >= len(lead) and after >= 0
    return f"cat lead; head -c {before - len(lead)} fill; cat middle; head -c {after} fill; cat trail"


@pytest.mark.slow
def test_bash_output_longer_than_its_buffers_never_shows_part_of_a_secret(tools: Toolset, wd: Path) -> None:
    """Past what the shell keeps (a head and a tail of `held` bytes each) the middle is dropped unseen, so a
    secret across the end of the head buffer or the start of the tail buffer is cut before any redaction; one
    across the shown part's cut too. A private key redacted at the start of the head makes it much shorter: the
    end of the head buffer then comes within the part shown."""
    tool = tools.get("bash")
    held = tool.shell.max_bytes  # type: ignore[attr-defined]
    size = 2 * held + 5000
    keys = private_key(held - 300)
    for kind, token in TOKENS.items():
        piece = "TOKEN=" + token
        for into in range(1, len(token)):
            for name, before, lead, trail in (
                ("shown head", HEAD - into - 6, "", ""),
                ("shown tail", size - TAIL - into - 6, "", ""),
                ("head buffer", held - into - 6, "", ""),
                ("head buffer after a key", held - into - 6, keys, ""),
                ("tail buffer", size - held - into - 6, "", ""),
                ("tail buffer before a key", size - held - into - 6, "", keys),
            ):
                out = call(tools, "bash", command=printing(wd, before, piece, size, lead, trail))
                content = str(out.content)
                where = f"{kind} {name} {into}"
                assert out.truncated and not out.is_error and len(content.encode()) <= LIMIT, (where, content)
                assert not leaked(token, content), (where, content)
                assert content.startswith(("[REDACTED:private_key]", "\n[... output truncated")
                                          if lead else FILL if before else "TOKEN="), (where, content[:50])
                ends = ("[REDACTED:private_key]", "omitted ...]\n") if trail else FILL
                assert content.endswith(ends), (where, content[-50:])


def test_the_counts_are_bytes_of_the_redacted_output(tools: Toolset, wd: Path) -> None:
    """What the marker says: `total` is the size of the output once redacted, and `omitted` what of it is not shown."""
    token = TOKENS["github"]
    text = head_cut(token, 10)
    redacted = default_redactor().redact_text(text)
    assert redacted != text
    (wd / "out.txt").write_text(text)
    for out in (str(call(tools, "read", file_path="out.txt").content), cap_output(text, LIMIT)[0],
                str(call(tools, "bash", command="cat out.txt").content)):
        m = COUNTS.search(out)
        assert m is not None, out
        omitted, total = int(m.group(1)), int(m.group(2))
        assert total == len(redacted.encode())
        shown = out[:m.start()].removesuffix("\n") + out[m.end():].removeprefix("\n")
        assert omitted == total - len(shown.encode())
        assert redacted.startswith(out[:m.start() - 1]) and redacted.endswith(out[m.end() + 1:])


def test_a_cut_never_splits_a_redaction_marker() -> None:
    token = TOKENS["github"]
    for shift in range(-25, 25):  # the marker that replaces the token lies across the head's cut, then the tail's
        for text in (FILL * (HEAD - 10 + shift) + " " + token + " " + FILL * 2 * LIMIT,
                     FILL * 2 * LIMIT + " " + token + " " + FILL * (TAIL - 10 + shift)):
            out, _ = cap_output(text, LIMIT)
            m = COUNTS.search(out)
            assert m is not None
            shown = MARKER_RE.sub("", out[:m.start()] + out[m.end():])
            assert set(shown) <= {FILL, " ", "\n"}, (shift, out[m.start() - 30:m.end() + 30])


def test_a_run_sends_and_logs_no_part_of_a_cut_secret(fake_anthropic: FakeAnthropic, bare_ws: Workspace,
                                                       wd: Path) -> None:
    """The acceptance pass's case (a 30000-byte cap, the tail cut 10 characters into a `ghp_` token; a
    `sk-ant-` key cut on the head side), through the loop: the model's requests and the log hold none of it."""
    github, anthropic = TOKENS["github"], TOKENS["anthropic"]
    keep = 30_000 - MARKER_ROOM
    (wd / "ci.log").write_text("a" * 20000 + "\nexport GITHUB_TOKEN=" + github + "\n" + "b" * 14919)
    (wd / "key.log").write_text("ANTHROPIC_KEY=" + FILL * (keep // 2 - 14 - 20) + anthropic + "\n" + "c" * 40000)
    fake_anthropic.expect(tool_reply(tool_use("read", {"file_path": "ci.log"})),
                          tool_reply(tool_use("bash", {"command": "cat ci.log"})),
                          tool_reply(tool_use("read", {"file_path": "key.log"})),
                          tool_reply(tool_use("bash", {"command": "cat key.log"})), text_reply("done"))
    result = run_agent(bare_ws, Config(), prompt_spec("triage"), RunOptions(workdir=wd, yes=True), callbacks=Recorder())
    assert result.status == "completed"
    sent = json.dumps([r.body for r in fake_anthropic.requests])
    log = Path(result.path).read_text()
    assert sent.count("output truncated") >= 4 and log.count("output truncated") == 4
    for token in (github, anthropic):
        assert not leaked(token, sent) and not leaked(token, log)
    assert "[REDACTED:github]" in log and "[REDACTED:anthropic]" in log


def long_key(seed: int, size: int = 6400) -> str:
    """A PEM private key of about `size` characters (an 8192-bit RSA key's is some 6.4 KB): longer than EDGE_GUARD."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "+/"
    body = "".join(rng.choice(alphabet) for _ in range(size))
    lines = "\n".join(body[i:i + 64] for i in range(0, size, 64))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----\n"


def key_lines(*keys: str) -> set[str]:
    return {line for key in keys for line in key.splitlines() if "-----" not in line}


def test_bash_never_shows_the_body_of_a_long_key_the_shell_cut(tools: Toolset, wd: Path) -> None:
    """A key longer than EDGE_GUARD across where the shell's tail buffer starts (or its head buffer ends), with
    keys that redact to a few bytes beyond it, so what is shown comes close to that cut: no line of its body
    shows (before, some 2 KB of it came right after the marker), and the marker still counts what is not shown."""
    tool = tools.get("bash")
    held = tool.shell.max_bytes  # type: ignore[attr-defined]
    size = 2 * held + 5000
    cut_key = long_key(0)
    others = "".join(long_key(i, 5952) for i in range(1, 11))  # each redacts to a marker
    inside = held - len(others)  # characters of `cut_key` in the buffer, past EDGE_GUARD: its body would show
    assert EDGE_GUARD + 500 < inside < len(cut_key) - 200
    for name, before, lead, trail in (
        ("tail buffer", size - len(others) - len(cut_key), "", others),
        ("head buffer", len(others), others, ""),
    ):
        out = call(tools, "bash", command=printing(wd, before, cut_key, size, lead, trail))
        content = str(out.content)
        assert out.truncated and not out.is_error and len(content.encode()) <= LIMIT, name
        assert not [line for line in key_lines(cut_key, others) if line in content], (name, content)
        m = COUNTS.search(content)
        assert m is not None, content
        shown = content[:m.start()].removesuffix("\n") + content[m.end():].removeprefix("\n")
        assert int(m.group(1)) == int(m.group(2)) - len(shown.encode()), name


def test_without_edges_drops_a_key_block_cut_at_either_end() -> None:
    key = long_key(7)
    body = key.split("\n", 1)[1]  # its BEGIN line cut off
    opened = key.rsplit("-----END", 1)[0]  # its END line cut off
    head, tail = without_edges(FILL * 5000 + "\n" + opened, body + FILL * 5000)
    assert head == FILL * (5001 - EDGE_GUARD) and tail == "\n" + FILL * 5000
    whole = FILL * 5000 + key + FILL * 5000  # a whole block (as the rules leave it, unredacted) is not touched
    assert without_edges(whole, whole) == (whole[:-EDGE_GUARD], whole[EDGE_GUARD:])


def test_without_edges_keeps_output_that_only_quotes_a_key_line() -> None:
    """Only a key's body before a lone END line (or after a lone BEGIN) is dropped: before, an END line anywhere in
    the tail (a failing test that quotes it) erased everything before it, the traceback included."""
    log = "E   AssertionError: assert pem.endswith('-----END PRIVATE KEY-----')\n== 1 failed ==\n"
    tail = "Traceback (most recent call last):\n" * 200 + log
    assert without_edges("x", tail)[1] == tail[EDGE_GUARD:]
    head = "x" * 5000 + "\nassert pem.startswith('-----BEGIN PRIVATE KEY-----') # check\n" + "y" * 5000
    assert without_edges(head, "x")[0] == head[:-EDGE_GUARD]


def test_a_sub_agents_answer_is_redacted_with_the_config_patterns_before_it_is_cut() -> None:
    """The lead's redactor (config patterns too) runs before the cut: before, only the built-in rules did, and
    a config-pattern secret cut in two left its first part, which no pattern matched any more, in the result."""
    config = Config.model_validate({"redaction": {"patterns": [r"ACME[0-9A-Z]{30}"]}})
    secret = "ACME7Q2K9XW4PLM3ZR8TB6VN1HJ5DC0FGY"
    head = (1000 - MARKER_ROOM) // 2
    redact = run_redactor(config).redact_text
    for into in range(1, len(secret)):
        body = FILL * (head - into) + secret + FILL * 3000
        done = SubagentResult(index=0, brief="look " + secret, session_id="s", status="completed", final_text=body)
        content = str(format_results([done], 1000, redact).content)
        assert not leaked(secret, content) and not leaked(secret, redact(content)), (into, content)
    assert "Brief: look [REDACTED:" in content
