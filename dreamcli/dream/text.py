"""Text helpers of the dreamer: message templates (volatile parts masked), tool labels, targets of a
call, and word stems for near-duplicate matching. Pure functions, no I/O."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

MAX_TEMPLATE = 200

_TRACEBACK = "Traceback (most recent call last)"
_QUOTED = re.compile(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"|`[^`\n]{1,200}`")
_ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                 r"[0-9a-fA-F]{12}\b|\btoolu_[A-Za-z0-9]+\b")
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b")
_FILE = re.compile(r"(?<![\w<])(?:[\w.~*-]*/)*[\w*][\w.*-]*\.([A-Za-z][A-Za-z0-9]{0,5})(?:\.(gz|bz2|xz|zst))?\b")
_PATH = re.compile(r"(?<![\w<])(?:~|\.{1,2})?(?:/[\w.*-]+)+/?|\b[\w.-]+/(?:[\w.*-]+/?)*")
# numbers that vary (30s, 4Gi, 95%), not those that name something: UTF-8, x86-64, ES2022
_NUMBER = re.compile(r"(?<![\w<])(?<![A-Za-z]-)[-+]?\d+(?:[.,:]\d+)*(?:[A-Za-z%]{1,3})?(?![\w>])")
# quoted values that name a meaningful token rather than a varying value: encodings, environment
# variables (PATH, NODE_OPTIONS), flags
_MEANINGFUL = re.compile(r"^(?i:utf|ascii|latin|iso|cp|windows)-?[\w-]{0,12}$|^[A-Z][A-Z0-9_]{1,40}$|^--?[a-z][\w-]+$")
_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")


_ERROR_WORD = re.compile(r"\b(\w*Error\b|ERR_[A-Z_]+|\w*Exception\b|[Ff]atal\b|error:|ERROR\b|E\d{3,4}\b)")


def message_line(text: str) -> str:
    """The line of an error message that identifies it: the last line of a traceback, else the first
    line that names an error (`Error [ERR_REQUIRE_ESM]: ...` under a test runner's banner), else the
    first non-empty line."""
    if _TRACEBACK in text:
        lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
        return lines[-1] if lines else ""
    start = len(text) - len(text.lstrip())
    end = text.find("\n", start)
    first = text[start:end if end >= 0 else None].strip()
    if end < 0 or _ERROR_WORD.search(first):
        return first
    m = _ERROR_WORD.search(text, end, 4000)  # one search over the head, not one per line
    if m is None:
        return first
    return text[text.rfind("\n", 0, m.start()) + 1: (text.find("\n", m.end()) + 1 or len(text) + 1) - 1].strip()


@lru_cache(maxsize=8192)  # the same commands and messages recur across sessions; pure, so cached
def mask(text: str) -> str:
    """Mask what varies between occurrences of the same problem: quoted values, ids, hex, file
    names (keeping the extension: `<file.docx>`), paths, numbers."""
    # each pass runs only when the text (as the passes before left it) has what its pattern needs:
    # a quote, 26 characters or a tool id, a digit, a dot, a slash (most error lines lack several)
    s = text
    if "'" in s or '"' in s or "`" in s:
        s = _QUOTED.sub(lambda m: m.group(0) if _MEANINGFUL.match(m.group(0)[1:-1]) else "<q>", s)
    if len(s) >= 26 or "toolu_" in s:
        s = _ID.sub("<id>", s)
    if _DIGIT.search(s):
        s = _HEX.sub("<hex>", s)
    if "." in s:
        s = _FILE.sub(lambda m: f"<file.{m.group(1).lower()}{'.' + m.group(2) if m.group(2) else ''}>", s)
    if "/" in s:
        s = _PATH.sub("<path>", s)
    if _DIGIT.search(s):
        s = _NUMBER.sub("<n>", s)
    s = _SPACE.sub(" ", s).strip()
    return s[:MAX_TEMPLATE]


_PLACEHOLDER = re.compile(r"^[\w:.-]+\(|\[REDACTED[^\]]*\]|<[a-z.]+>|\b(?:sha|len|id|hash)=\S+|\b[0-9a-f]{7,}\b"
                          r"|\b\d+\b|\w+=")


def opaque(text: str) -> bool:
    """Text that says nothing a reader can act on: only a placeholder, a hash or an id (e.g. an
    imported call whose arguments were redacted: `exec_command(arguments=[REDACTED len=99 sha=…])`)."""
    rest = _PLACEHOLDER.sub(" ", _HEX.sub(" ", _ID.sub(" ", text)))
    return len(re.findall(r"[A-Za-z]{3,}", rest)) <= 1


def error_template(text: str) -> str:
    return mask(message_line(text))


def content_text(content: Any) -> str:
    """Text of a tool_result `content` (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return "\n".join(str(p) for p in parts)
    return ""


_SKIP_WORDS = {"sudo", "env", "time", "nice", "command", "exec", "then", "do", "if"}
_PRELUDE = re.compile(r"^\s*(?:(?:cd|source|\.|export)\s+[^;&|]+(?:&&|;)\s*)+")


@lru_cache(maxsize=4096)
def program_of(command: str) -> str:
    """The program a shell command runs (`unzip` for `unzip -p a.docx | sed ...`)."""
    command = command.strip()
    if command.startswith(("cd ", "source ", ". ", "export ")):
        command = _PRELUDE.sub("", command, count=1)
    for token in command.split():
        if "=" in token.split("/")[0] and not token.startswith(("-", "'", '"')):
            continue  # VAR=value
        if token in _SKIP_WORDS:
            continue
        name = token.rsplit("/", 1)[-1].strip("();&|")
        return name or "sh"
    return "sh"


def tool_label(name: str, tool_input: Any) -> str:
    """`read`, or `bash:unzip` for shell commands (the program matters more than the tool)."""
    if name in ("bash", "shell", "Bash", "exec_command") and isinstance(tool_input, dict):
        cmd = tool_input.get("command") or tool_input.get("cmd")
        if isinstance(cmd, list):
            cmd = " ".join(str(c) if isinstance(c, str | int | float) else "…" for c in cmd)
        if isinstance(cmd, str):
            return f"bash:{program_of(cmd)}"
    return name


def call_display(name: str, tool_input: Any) -> str:
    """A short, readable form of a call: the command for shell tools, else `tool(key=value, ...)`."""
    try:
        return _display(name, tool_input)
    except RecursionError:  # an input nested deeper than str() or json can walk
        return f"{name}(…)"


def _display(name: str, tool_input: Any) -> str:
    if isinstance(tool_input, dict):
        cmd = tool_input.get("command") or tool_input.get("cmd")
        if name in ("bash", "shell", "Bash", "exec_command") and isinstance(cmd, str | list):
            return (cmd if isinstance(cmd, str) else " ".join(map(str, cmd)))[:200]
        parts = []
        for k, v in list(tool_input.items())[:3]:
            if isinstance(v, str) and len(v) > 60:
                v = v[:57] + "..."
            parts.append(f"{k}={v}" if isinstance(v, str) else f"{k}={json.dumps(v)[:40]}")
        return f"{name}({', '.join(parts)})"
    return name


def input_key(name: str, tool_input: Any) -> str:
    """Identity of a call's input, cheap even for large inputs (long strings count by hash; only
    compared within one session, so the per-process hash seed does not matter)."""
    try:
        if isinstance(tool_input, dict):
            parts = [name]
            for k in sorted(tool_input):
                v = tool_input[k]
                if isinstance(v, str):
                    parts.append(f"{k}={v}" if len(v) <= 300 else f"{k}=#{hash(v)}:{len(v)}")
                else:
                    parts.append(f"{k}={v!r}"[:300])
            return "\x00".join(parts)
        return name + ":" + repr(tool_input)[:300]
    except RecursionError:  # nested deeper than repr() walks: a key of its own, equal to no other call's
        return f"{name}\x00nested#{id(tool_input)}"


_TARGET_TOKEN = re.compile(r"[\w.~*/-]*[\w*]\.[A-Za-z][\w]{0,5}(?:\.gz)?|[\w.~-]*/[\w.*/-]*")
_TARGET_KEYS = ("file_path", "path", "filename", "file", "pattern", "dir", "directory", "target")
_TRIVIAL = {"", ".", "..", "/", "-", "~", "*", "/tmp", "tmp", "/dev/null", "dev", "null"}


def targets(name: str, tool_input: Any) -> frozenset[str]:
    """What a call acts on: its paths, their directories and base names (to pair an error with the
    call that later succeeded on the same thing)."""
    raw: list[str] = []
    if isinstance(tool_input, dict):
        for key in _TARGET_KEYS:
            v = tool_input.get(key)
            if isinstance(v, str) and len(v) < 300:
                raw.append(v)
        cmd = tool_input.get("command")
        if isinstance(cmd, str):
            raw.extend(_command_tokens(cmd[:1000]))
    return _expand(tuple(raw))


@lru_cache(maxsize=4096)
def _command_tokens(command: str) -> tuple[str, ...]:
    return tuple(_TARGET_TOKEN.findall(command))


@lru_cache(maxsize=4096)
def _expand(raw: tuple[str, ...]) -> frozenset[str]:
    out: set[str] = set()
    for item in raw:
        item = item.strip().strip("'\"").rstrip("/")
        if item in _TRIVIAL or item.startswith("-"):
            continue
        out.add(item)
        parts = [p for p in item.split("/") if p and p != "."]
        if len(parts) > 1:
            out.add(parts[0])
            out.add("/".join(parts[:-1]))
            out.add(parts[-1])
    return frozenset(t for t in out if t not in _TRIVIAL and len(t.strip("/*.")) >= 3)


def generic_display(display: str, target_names: frozenset[str]) -> str:
    """`unzip -p msa-x.docx word/...` -> `unzip -p FILE.docx word/...` for the files the error was about."""
    out = display
    for t in sorted(target_names, key=len, reverse=True):
        base = t.rsplit("/", 1)[-1]
        if "." in base and "*" not in base and base in out:
            ext = base.split(".", 1)[1]
            out = out.replace(base, f"FILE.{ext}")
    return out


def excerpt(text: str, limit: int = 160) -> str:
    if len(text) > 8 * limit:  # a long output: collapsing a head that already overflows gives the same excerpt
        head = _SPACE.sub(" ", text[: 4 * limit]).lstrip()
        if len(head.rstrip()) > limit:
            return head[: limit - 1] + "…"
    one = _SPACE.sub(" ", text).strip()
    return one if len(one) <= limit else one[: limit - 1] + "…"
