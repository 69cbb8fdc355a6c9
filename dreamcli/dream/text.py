"""Text helpers of the dreamer: message templates (volatile parts masked), tool labels, targets of a
call, and word stems for near-duplicate matching. Pure functions, no I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from dreamcli.dream.hosts import CLIENTS, file_mark, file_or_host, host_mark, path_or_host, replace_unless_host
from dreamcli.textnorm import nfc

MAX_TEMPLATE = 200
MAX_LINE = 4096  # characters of an error's message line that are redacted, masked and templated
Redact = Callable[[str], str]  # a redactor's `redact_text` (dreamcli.redaction), for text the dream keeps

_TRACEBACK = "Traceback (most recent call last)"
_QUOTED = re.compile(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"|`[^`\n]{1,200}`")
_ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                 r"[0-9a-fA-F]{12}\b|\btoolu_[A-Za-z0-9]+\b")
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b")
# a file name (backslash-escaped spaces included), never a dotted module name (`django.db.utils.Error`)
_FILE = re.compile(r"(?<![\w<.\\])(?:(?:[\w.~*-]|\\ )*/)*[\w*](?:[\w.*-]|\\ )*\.([A-Za-z][A-Za-z0-9]{0,5})"
                   r"(?:\.(gz|bz2|xz|zst))?\b(?!\.\w)")
_PATH = re.compile(r"(?<![\w<])(?:~|\.{1,2})?(?:/[\w.*-]+)+/?|\b[\w.-]+/(?:[\w.*-]+/?)*")
# the same, after a URL's scheme first its authority (`//u:pw@<host>:5432/`), which stays
_URL_PATH = re.compile(r"(?<=:)//(?:[\w.%+-]+(?::[^\s/@]*)?@)?(?:<host>|[\w-]+(?:\.[\w-]+)*)(?::\d+)?/?|"
                       + _PATH.pattern)
# a dotted name that may be a host (`hosts.is_host` decides): not inside a path, unless after `://`
_HOST_NAME = re.compile(r"(?:(?<=//)|(?<![\w.<\\/*~-]))[A-Za-z0-9][\w-]*(?:\.[\w-]+)+(?![\w*-]|\.\w)")
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
    names (keeping the extension: `<file.docx>`), paths, numbers, hosts (`deploy@<host>`, `<host>:<n>`,
    `https://<host>/<path>`: `dreamcli.dream.hosts` tells a host from a file), so the same error on two hosts
    has one template."""
    # each pass runs only when the text (as the passes before left it) has what its pattern needs:
    # a quote, 26 characters or a tool id, a digit, a dot, a slash (most error lines lack several)
    s = nfc(text)  # a name as macOS writes it (a letter, then its accent) is one `\w` run, as a typed one is
    if "'" in s or '"' in s or "`" in s:
        s = _QUOTED.sub(lambda m: m.group(0) if _MEANINGFUL.match(m.group(0)[1:-1]) else "<q>", s)
    if len(s) >= 26 or "toolu_" in s:
        s = _ID.sub("<id>", s)
    if "." in s:
        s = _HOST_NAME.sub(host_mark, s)
    if _DIGIT.search(s):
        s = _HEX.sub("<hex>", s)
    if "." in s:
        s = _FILE.sub(file_or_host, s)
    if "/" in s:
        s = _URL_PATH.sub(path_or_host, s) if "://" in s else _PATH.sub("<path>", s)
    if _DIGIT.search(s):
        s = _NUMBER.sub("<n>", s)
    s = _SPACE.sub(" ", s).strip()
    return s[:_cut_at(s, MAX_TEMPLATE)]


def _cut_at(text: str, limit: int) -> int:
    """Where to cut `text` to at most `limit` characters: before a redaction marker the limit would cut."""
    if len(text) <= limit:
        return limit
    start = text.rfind("[REDACTED", max(0, limit - 60), limit)
    if start < 0:
        start = text.rfind("[", max(0, limit - 9), limit)  # `[REDAC` cut inside the word
        if start < 0 or not text.startswith("[REDACTED", start):
            return limit
    return start if text.find("]", start, limit) < 0 else limit


_PLACEHOLDER = re.compile(r"^[\w:.-]+\(|\[REDACTED[^\]]*\]|<[a-z.]+>|\b(?:sha|len|id|hash)=\S+|\b[0-9a-f]{7,}\b"
                          r"|\b\d+\b|\w+=")


def opaque(text: str) -> bool:
    """Text that says nothing a reader can act on: only a placeholder, a hash or an id (e.g. an
    imported call whose arguments were redacted: `exec_command(arguments=[REDACTED len=99 sha=…])`)."""
    rest = _PLACEHOLDER.sub(" ", _HEX.sub(" ", _ID.sub(" ", text)))
    return len(re.findall(r"[A-Za-z]{3,}", rest)) <= 1


def error_template(text: str, names: frozenset[str] = frozenset(), redact: Redact | None = None) -> str:
    """The masked message line of an error, redacted first (a masked or cut secret no longer matches its
    rule); `names` are the call's targets, so that a file name with spaces (`Master Services Agreement.doc`)
    is masked whole, as `<file.doc>`, not as its last word."""
    line = nfc(message_line(text))
    if redact is not None:
        line = redacted_head(line, MAX_LINE, redact)
    for name in sorted((n for n in map(nfc, names) if " " in n and n in line), key=len, reverse=True):
        line = line.replace(name, _placeholder(name))
    return mask(line)


def _placeholder(name: str) -> str:
    """`<file.doc>` for a file name, `<path>` for anything else (a directory)."""
    m = _FILE_END.search(name)
    return file_mark(m) if m else "<path>"


_FILE_END = re.compile(r"\.([A-Za-z][A-Za-z0-9]{0,5})(?:\.(gz|bz2|xz|zst))?$")


def redacted_head(text: str, limit: int, redact: Redact) -> str:
    """`text` redacted, when longer than `limit` only its head: the words before the limit, never the word
    the limit cuts (a secret cut in two no longer matches its rule); a text with no space before the limit is
    redacted whole. Redacting only what is kept keeps the scan cheap (not every line of a session)."""
    head = word_head(text, limit)
    return redact(head) if head or not text else redact(text)


def word_head(text: str, limit: int) -> str:
    """The first `limit` characters of `text`, without the word the limit cuts ("" for one long word)."""
    if len(text) <= limit or text[limit].isspace():
        return text[:limit]
    return text[:max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit), text.rfind("\t", 0, limit), 0)]


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


def call_display(name: str, tool_input: Any, redact: Redact | None = None) -> str:
    """A short, readable form of a call: the command for shell tools, else `tool(key=value, ...)`; with
    `redact`, each part is redacted before it is cut."""
    try:
        return _display(name, tool_input, redact or _same)
    except RecursionError:  # an input nested deeper than str() or json can walk
        return f"{name}(…)"


def _same(text: str) -> str:
    return text


def _display(name: str, tool_input: Any, redact: Redact) -> str:
    if isinstance(tool_input, dict):
        cmd = tool_input.get("command") or tool_input.get("cmd")
        if name in ("bash", "shell", "Bash", "exec_command") and isinstance(cmd, str | list):
            shown = redacted_head(cmd if isinstance(cmd, str) else " ".join(map(str, cmd)), 1000, redact)
            return shown[:_cut_at(shown, 200)]
        parts = []
        for k, v in list(tool_input.items())[:3]:
            if isinstance(v, str):  # the key too: `password=...`
                part = redacted_head(f"{k}={v}", len(k) + 301, redact)
                parts.append(part[:len(k) + 58] + "..." if len(part) > len(k) + 61 else part)
            else:
                parts.append(f"{k}={redacted_head(json.dumps(v), 400, redact)[:40]}")
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


# a quoted argument, or a word with backslash-escaped spaces (`Master\ Services\ Agreement.doc`)
_SPACED = re.compile(r"(?<![\w\\])(?:\"([^\"\n$`]{3,300})\"|'([^'\n]{3,300})')"
                     r"|(?<![^\s=])(?:[^\s\"'\\;&|<>]|\\.)*\\ (?:[^\s\"'\\;&|<>]|\\.)*")
_SCRIPT_OPTION = re.compile(r"\s-\w*c\s*$")  # `bash -c "..."`, `sh -lc '...'`: the quoted text is a command
_UNESCAPE = re.compile(r"\\(.)")


@lru_cache(maxsize=4096)
def _command_tokens(command: str) -> tuple[str, ...]:
    """The paths and file names in a command; a quoted or backslash-escaped name with spaces is one."""
    if '"' not in command and "'" not in command and "\\ " not in command:
        return tuple(_TARGET_TOKEN.findall(command))
    names: list[str] = []

    def one_name(m: re.Match[str]) -> str:
        quoted = m.group(1) or m.group(2)
        if quoted is not None and _SCRIPT_OPTION.search(command, max(0, m.start() - 12), m.start()):
            return m.group(0)
        name = quoted if quoted is not None else _UNESCAPE.sub(r"\1", m.group(0))
        if not spaced_name(name):
            return m.group(0)
        names.append(name)
        return " "
    rest = _SPACED.sub(one_name, command)
    return (*names, *_TARGET_TOKEN.findall(rest))


def spaced_name(text: str) -> bool:
    """Is `text` one file name with spaces (`Lease - Initech.doc`, `~/My Files/a b.pdf`): it ends in an
    extension (or starts as a path), and no word before is an option or a file (`python x.py -o out.txt`) nor
    is it an expression (`s/a b/c/`)."""
    words = text.split()
    if len(words) < 2 or words[-1][0] == "-" or any(
            (w[0] == "-" and len(w) > 1) or _FILE_END.search(w) for w in words[:-1]):
        return False
    return _FILE_END.search(words[-1]) is not None or text.startswith(("/", "~/", "./", "../"))


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
    """`unzip -p msa-x.docx word/...` -> `unzip -p FILE.docx word/...` for the files the error was about: the
    documents that vary between sessions, never the program run or the script an interpreter runs
    (`python manage.py`, `./ci/check.sh`): the command must stay one that can be run."""
    out = display
    run = _programs(display)
    client = not run.isdisjoint(CLIENTS)  # ssh, ping: their dotted arguments are hosts
    for base in sorted({t.rsplit("/", 1)[-1] for t in target_names}, key=len, reverse=True):
        last = base.rsplit(" ", 1)[-1]
        if "." not in last[1:] or "*" in base or base in run or base[0] == ".":  # a dotfile (~/.pgpass) stays
            continue
        ext = last.split(".", 1)[1]
        for form in (base, base.replace(" ", "\\ ")) if " " in base else (base,):
            if form in out:
                out = replace_unless_host(out, form, f"FILE.{ext}", client)
    return out


_INTERPRETER = re.compile(r"(?:python|pypy)[\d.]*|bash|sh|zsh|dash|ksh|node(?:js)?|ruby|perl|php|Rscript|deno|bun|"
                          r"tsx|ts-node|lua|pwsh|source|\.")
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
_INLINE = frozenset({"-m", "-c", "-e", "-r", "-p", "--eval", "--print"})  # python -m module, node -e code, ...
_SEGMENT = re.compile(r"&&|\|\||[;|&()]|\$\(|`")


@lru_cache(maxsize=4096)
def _programs(command: str) -> frozenset[str]:
    """The base names of what a command runs: each segment's program, and the script after an interpreter
    (`python manage.py migrate` -> manage.py; `python -m pytest` and `bash -c '...'` run no script file)."""
    run: set[str] = set()
    for segment in _SEGMENT.split(command) if _SEGMENT.search(command) else (command,):
        words = iter(segment.split())  # read up to the program (and its script) only
        for word in words:
            w = word.strip("'\"")
            if not w or w in _SKIP_WORDS or ("=" in w.split("/")[0] and w[0] != "-"):
                continue  # sudo, env, VAR=value
            program = w.rsplit("/", 1)[-1]
            run.add(program)
            if _INTERPRETER.fullmatch(program):
                for arg in words:
                    if _inline(program, arg):
                        break  # a module or inline code, no script file
                    if arg[0] != "-" and arg != "run":  # `deno run x.ts`, `bun run x.ts`
                        run.add(arg.strip("'\"").rsplit("/", 1)[-1])
                        break
            break
    return frozenset(run)


def _inline(program: str, arg: str) -> bool:
    """`python -m`, `node -e`, `bash -c` / `sh -lc`: what follows is a module or code, not a script file."""
    if program in _SHELLS:
        return arg[:1] == "-" and arg[:2] != "--" and "c" in arg
    return arg in _INLINE


def excerpt(text: str, limit: int = 160, redact: Redact | None = None) -> str:
    """`text` on one line, cut to `limit` characters; with `redact`, redacted before it is cut."""
    if redact is not None:
        text = redacted_head(text, 8 * limit, redact)
    if len(text) > 8 * limit:  # a long output: collapsing a head that already overflows gives the same excerpt
        head = _SPACE.sub(" ", text[: 4 * limit]).lstrip()
        if len(head.rstrip()) > limit:
            return head[: _cut_at(head, limit - 1)] + "…"
    one = _SPACE.sub(" ", text).strip()
    return one if len(one) <= limit else one[: _cut_at(one, limit - 1)] + "…"
