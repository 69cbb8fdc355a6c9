"""A transcript line holding a lone surrogate escape (`"text": "rocket \\ud83d"`: a cut emoji, as JavaScript
tools write it) is JSON (RFC 8259): it is imported, the surrogate read as U+FFFD, never counted corrupt
or taken for a file that is not JSONL. A first line that is JSON but for bytes that are not UTF-8 is
refused as "not UTF-8 text". And lines msgspec reads never reach the fallback (the import's hot path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dreamcli import codec
from dreamcli.errors import InputError
from dreamcli.sessions.importers.common import first_object
from dreamcli.sessions.importers.runner import import_transcripts
from dreamcli.workspace.home import Workspace
from tests.sessions.shapes import THREAD, Claude, imported, of_type, rollout, say, user

CUT = "rocket \ud83d"  # json.dumps writes it as the escape `rocket \ud83d`
READ = "rocket \ufffd"


def texts(events: list[dict], role: str) -> list[str]:
    return [b["text"] for e in of_type(events, "message") if e["role"] == role
            for b in e["content"] if isinstance(b, dict) and b.get("type") == "text"]


def claude(tmp_path: Path, *, first: bool) -> Path:
    c = Claude()
    c.user(CUT if first else "Ship it")
    c.assistant([{"type": "text", "text": "On it"}])
    c.user("and then?")
    c.assistant([{"type": "text", "text": "done " + CUT}])
    c.user("thanks")
    c.assistant([{"type": "text", "text": "bye"}])
    return c.write(tmp_path / "p" / f"{c.sid}.jsonl")


@pytest.mark.parametrize("first", [False, True])
def test_claude_code_line_with_a_lone_surrogate_is_imported_with_u_fffd(
        new_ws: Workspace, tmp_path: Path, first: bool) -> None:
    path = claude(tmp_path, first=first)
    assert "\\ud83d" in path.read_text()  # the escape itself, as the agent wrote it
    s, got = imported(new_ws, "claude-code", path)
    assert (s.lines.corrupt, s.lines.imported, s.transcripts) == (0, 6, 1)
    events = got["cc-shape"]
    assert texts(events, "assistant") == ["On it", "done " + READ, "bye"]
    end = events[-1]
    assert end["totals"]["turns"] == 3 and end["totals"]["output_tokens"] == 15  # no message nor usage lost
    if first:
        assert events[0]["task"]["prompt"] == READ


@pytest.mark.parametrize("first", [False, True])
def test_codex_line_with_a_lone_surrogate_is_imported_with_u_fffd(
        new_ws: Workspace, tmp_path: Path, first: bool) -> None:
    path = rollout(tmp_path / "d" / "rollout.jsonl", [user("q"), say("done " + CUT), user("more"), say("ok")])
    if first:  # the session_meta line
        lines = path.read_text().splitlines()
        meta = json.loads(lines[0])
        meta["payload"]["cwd"] = "/w/" + CUT
        path.write_text("\n".join([json.dumps(meta), *lines[1:]]) + "\n")
    s, got = imported(new_ws, "codex", path)
    assert (s.lines.corrupt, s.transcripts) == (0, 1)
    events = got[THREAD]
    said = [b["text"] for e in of_type(events, "message") if e["role"] == "assistant" for b in e["content"]]
    assert said == ["done " + READ, "ok"]
    if first:
        assert events[0]["workdir"] == "/w/" + READ


def test_a_first_line_json_but_for_bytes_not_utf8_is_refused_as_not_utf8(tmp_path: Path) -> None:
    good = json.dumps({"type": "user", "message": {"role": "user", "content": "hi"}, "sessionId": "s"}).encode()
    for n, raw in enumerate([b"\xff" + good, good.replace(b'"hi"', b'"h\xff\xfe\xc3(i"')]):
        path = tmp_path / f"bad{n}.jsonl"
        path.write_bytes(raw + b"\n" + good + b"\n")
        with pytest.raises(InputError) as err:
            first_object(path)
        assert (str(err.value), err.value.line) == (f"{path}:1: not a JSONL file (not UTF-8 text)", 1)


def test_random_bytes_and_text_are_still_not_json(tmp_path: Path) -> None:
    for n, raw in enumerate([b"\x89PNG\r\n", b"\x89\xff\x00\x13 garbage \xfe\n", b"hello world\n", b"NaN\n"]):
        path = tmp_path / f"junk{n}.jsonl"
        path.write_bytes(raw)
        with pytest.raises(InputError, match=r":1: not a JSONL file \(line is not JSON\)$"):
            first_object(path)


def test_a_one_line_file_cut_mid_character_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_bytes('{"type": "user", "message": "caf\u00e9 \U0001f680'.encode()[:-2])  # no newline: cut
    assert first_object(path) is None


def test_the_cli_refuses_a_transcript_whose_first_line_is_not_utf8(new_ws: Workspace, tmp_path: Path) -> None:
    path = claude(tmp_path, first=False)
    path.write_bytes(b"\xff" + path.read_bytes())
    with pytest.raises(InputError, match=r":1: not a JSONL file \(not UTF-8 text\)$"):
        import_transcripts(new_ws, "claude-code", path, workers=1)


def test_json_that_is_not_rfc_8259_stays_corrupt_and_big_numbers_keep_the_line(
        new_ws: Workspace, tmp_path: Path) -> None:
    c = Claude()
    c.user("q")
    c.assistant([{"type": "text", "text": "a"}])
    path = c.write(tmp_path / "p" / f"{c.sid}.jsonl")
    lines = path.read_text().splitlines()
    nan = lines[1].replace('"input_tokens": 10', '"input_tokens": NaN')
    big = json.loads(lines[1])
    big["uuid"], big["message"]["id"], big["message"]["content"][0]["text"] = "u9", "msg_9", "b"
    big["message"]["usage"]["input_tokens"] = 7
    big_line = json.dumps(big).replace('"input_tokens": 7', '"input_tokens": 1e400')
    path.write_text("\n".join([lines[0], nan, big_line, ""]))
    s, got = imported(new_ws, "claude-code", path)
    assert s.lines.corrupt == 1  # NaN is not JSON
    assert texts(got["cc-shape"], "assistant") == ["b"]  # 1e400 is: the line is kept, the number dropped


def test_lines_msgspec_reads_never_reach_the_fallback(new_ws: Workspace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    slow = codec._loads_refused

    def spy(data: bytes) -> Any:
        calls.append(data)
        return slow(data)

    monkeypatch.setattr(codec, "_loads_refused", spy)
    _, got = imported(new_ws, "claude-code", claude(tmp_path, first=False))
    assert calls and all(b"\\ud83d" in raw for raw in calls)  # only the line holding the escape
    assert texts(got["cc-shape"], "assistant")[1] == "done " + READ


# text with lone surrogates among other characters: json.dumps escapes them, as JavaScript tools write them
_text = st.lists(st.text(max_size=3) | st.sampled_from(["\ud83d", "\udc00", "\ud83d\ude80"]), max_size=3).map("".join)
_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text
_json = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
                     max_leaves=12)


@given(_json)
def test_codec_reads_what_json_reads_with_u_fffd_for_lone_surrogates(obj: Any) -> None:
    line = json.dumps(obj).encode() + b"\n"
    assert codec.loads_rfc8259(line) == codec.without_lone_surrogates(json.loads(line))


def test_codec_reads_rfc_8259_json_in_utf8_only() -> None:
    read = codec.loads_rfc8259
    assert read(b'{"a": "x\\ud83d", "\\udc00k": ["\\ud83d\\ude80"]}\n') == {"a": "x\ufffd", "\ufffdk": ["\U0001f680"]}
    assert read(b'\xef\xbb\xbf{"a": 1}\n') == {"a": 1}  # a byte-order mark (RFC 8259 8.1: may be ignored)
    assert read(b'{"a": 1e400, "b": -1e999, "c": 1.5}') == {"a": None, "b": None, "c": 1.5}
    for not_json in (b'{"a": NaN}', b'{"a": Infinity}', b"[-Infinity]", b'{"a": 1', b"\x00{}"):
        with pytest.raises(ValueError):
            read(not_json)
    with pytest.raises(UnicodeDecodeError):
        read(b'{"a": "\xed\xa0\xbd"}')  # an encoded surrogate is not UTF-8 (json.loads would read it)
    with pytest.raises(RecursionError):
        read(b"[" * 100_000)  # msgspec's own refusal, as codec.loads raises it
    with pytest.raises(ValueError, match="nested deeper"):
        read(b'["\\ud83d",' * 100_000 + b"]" * 100_000)  # too deep for the fallback: not a RecursionError
