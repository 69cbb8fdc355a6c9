"""A fix that makes a file, and the call that then reads it: the fix as a chain of calls.

The legal story: `read` fails on a .doc contract, `soffice --headless --convert-to docx X.doc` makes
X.docx, and only `pandoc -t plain X.docx` gives the agent the text. The conversion alone is half the
lesson. When the call that fixed an error makes a file whose name its arguments say (`--convert-to
docx X.doc` -> X.docx, `--outdir DIR`, `-o OUT`, `--output OUT`, `> OUT`, `| tee OUT`, `unzip -d DIR`,
`tar -C DIR`, an `output` argument of another tool), the error stays open as a pending chain
(`OpenError.chain`, a `dreamcli.dream.calls.Chain`) for a few calls, and the first later success whose
arguments name that file (its path or base name, or a path inside the directory) is the fix's next step
(`Recovery.then`, recorded by `dreamcli.dream.pairing`). Conservative: the next call must name the output;
a call that only looks at it (`ls`, `file`), moves, removes or writes it is no step; at most `MAX_STEPS`
calls in all. Pure functions, run only while an error is open; and, for the entry, the chain that recurs
(`chain_of`) and the fix's lines as evidence (`with_fix`)."""

from __future__ import annotations

import re
import shlex
from functools import lru_cache
from typing import Any

from dreamcli.dream.calls import Call
from dreamcli.dream.fixes import Recovery
from dreamcli.dream.steps import command_of
from dreamcli.playbooks.lint import injection_findings

MAX_STEPS = 3  # the fix, then at most two calls that each read what the step before made
CHAIN_WINDOW = 4  # calls after a step in which the call that reads its output must come
MAX_PENDING = 2  # pending chains kept per session (the newest)
# what a call that names the output but does not read it runs (looking at it, moving it, removing it)
NOT_READING = frozenset({"bash:rm", "bash:mv", "bash:cp", "bash:ln", "bash:chmod", "bash:chown", "bash:touch",
                         "bash:mkdir", "bash:cd", "bash:ls", "bash:file", "bash:stat", "bash:du", "bash:test",
                         # committed, sent away or archived: the agent does not read it
                         "bash:git", "bash:gh", "bash:scp", "bash:rsync", "bash:sftp", "bash:aws", "bash:gsutil",
                         "bash:curl", "bash:wget", "bash:zip", "bash:tar", "bash:open",
                         "bash:xdg-open",
                         "write", "Write", "edit", "Edit", "MultiEdit", "create_file", "apply_patch"})
_OUTPUT_FLAGS = frozenset({"-o", "--output", "--out", "--outfile", "--output-file", "--output-path"})
_DIR_FLAGS = {"unzip": frozenset({"-d"}), "tar": frozenset({"-C", "--directory"})}
_NO_OUTPUT_O = frozenset({"unzip", "grep", "egrep", "fgrep", "zgrep", "rg", "ssh", "scp", "sftp", "mount", "git",
                          "xargs", "ps", "lsblk", "jq"})  # their -o is no output file
_OUTPUT_KEYS = ("output", "output_path", "output_file", "out", "outfile", "dest", "destination")
_EXT = re.compile(r"[^/]\.[A-Za-z][A-Za-z0-9]{0,5}(?:\.(?:gz|bz2|xz|zst))?$")
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&"})
_REDIRECTS = frozenset({">", ">>", "&>", "&>>"})
_SKIP = frozenset({"sudo", "env", "time", "nice", "command", "exec", "nohup"})
_DEVICES = ("/dev/",)
# Every way `_made_by` finds an output has one of these outside quotes (`-o`, `--output`, `--out…`, `-d`,
# `--directory`, `-C`, `--convert-to`, `tee`, a redirection of stdout): a command without any is not lexed
# (shlex reads character by character in Python; most fixes name no output). Quoted text (a sed script's
# `'s/<[^>]*>//g'`) and `2>`, `>&2` do not count; a flag written in quotes (`'-o'`) is missed.
_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")
_MAY_NAME_OUTPUT = re.compile(r"-[odC]|(?<![2-9])>(?!&)|tee|convert-to")


def outputs(call: Call, inputs: frozenset[str]) -> frozenset[str]:
    """The files (or directories) a successful call makes, as far as its arguments name them: paths and base
    names, never one of `inputs` (the failed call's files) nor a file the same command goes on to read."""
    made: tuple[str, ...] | list[str] = ()
    cmd = command_of(call.name, call.input)
    if cmd is not None:
        made = _made_by(cmd[:1000])
    elif isinstance(call.input, dict):
        made = [v for k in _OUTPUT_KEYS if isinstance(v := call.input.get(k), str) and 0 < len(v) < 300]
    return frozenset(n for n in _names(made) if n not in inputs)


def generic(made: frozenset[str], example: str) -> frozenset[str]:
    """The outputs a next step's example shows as FILE.ext: those the step that made them does not name in its
    own example (`soffice … 'FILE.doc'` makes FILE.docx; `gunzip -c FILE.json.gz > export.json` makes
    export.json, which a reader must see by that name in the next step too)."""
    return frozenset(m for m in made if m.rsplit("/", 1)[-1] not in example)


def same_stem(made: frozenset[str], names: frozenset[str]) -> frozenset[str]:
    """The outputs named as one of `names` with another extension (`pandoc FILE.docx -o X.txt` for X.docx):
    shown as FILE.txt in the example of the step that makes them, like the file they come from."""
    stems = {_stem(n) for n in names} - {""}
    return frozenset(m for m in made if _stem(m) in stems)


def _stem(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.split(".", 1)[0] if "." in base[1:] else ""


def reads(call: Call, made: frozenset[str]) -> bool:
    """Does the call name what a step made (its path or base name, or a path inside a made directory)?
    A base name alone matches only where the call names no other folder for it (`cat notes/X.txt` does
    not read the X.txt a step made here); committing, copying away or archiving an output is no reading."""
    if call.label in NOT_READING:
        return False
    found = {_norm(t).lstrip("/") for t in call.targets}  # as `_names` keeps what a step made
    for name in found & made:
        if "/" in name:
            return True
        elsewhere = [t for t in found if "/" in t and t.rsplit("/", 1)[1] == name]  # the folders it is named in
        if not elsewhere or any(t in made for t in elsewhere):
            return True
    return any(t.startswith(d + "/") for t in found for d in made if "/" in t)


@lru_cache(maxsize=2048)  # fixes recur across sessions: each distinct command is lexed once
def _made_by(command: str) -> tuple[str, ...]:
    """The outputs a shell command names, but those a later part of the same command reads."""
    if _MAY_NAME_OUTPUT.search(_QUOTED.sub(" ", command)) is None:
        return ()
    try:
        lex = shlex.shlex(command, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        tokens = list(lex)
    except ValueError:  # unbalanced quotes: nothing is derived
        return ()
    segments: list[list[str]] = [[]]
    redirected: list[list[str]] = [[]]
    prev = ""
    it = iter(tokens)
    for tok in it:
        if tok in _SEPARATORS:
            segments.append([])
            redirected.append([])
        elif tok in _REDIRECTS:
            target = next(it, "")
            if not (tok[0] == ">" and prev.isdigit() and prev != "1" and f"{prev}>" in command):  # not `2> err`
                redirected[-1].append(target)
            if prev.isdigit() and f"{prev}>" in command and segments[-1] and segments[-1][-1] == prev:
                segments[-1].pop()  # the descriptor is no word of the command
        else:
            segments[-1].append(tok)
        prev = tok
    out: list[str] = []
    for i, (words, files) in enumerate(zip(segments, redirected, strict=True)):
        made = _segment_outputs(words) + files
        later = [_norm(w) for seg in segments[i + 1:] for w in seg]
        out.extend(m for m in made if not _named(_norm(m), later))
    return tuple(out)


def _named(path: str, words: list[str]) -> bool:
    """Does one of `words` name `path` (the same path, its base name, or a path inside it)?"""
    base = path.rsplit("/", 1)[-1]
    return any(w in (path, base) or w.startswith(path + "/") for w in words)


def _segment_outputs(words: list[str]) -> list[str]:
    """What one command (its words, redirections aside) says it writes."""
    i = 0
    while i < len(words) and (words[i] in _SKIP or ("=" in words[i].split("/")[0] and words[i][:1] != "-")):
        i += 1
    if i >= len(words):
        return []
    program, args = words[i].rsplit("/", 1)[-1], words[i + 1:]
    out: list[str] = []
    convert, outdir, inputs = None, "", []
    skip_next = False
    for j, arg in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        value = args[j + 1] if j + 1 < len(args) else ""
        flag, eq, inline = arg.partition("=")
        if flag == "--convert-to":
            convert, skip_next = (inline, False) if eq else (value, True)
        elif flag == "--outdir":
            outdir, skip_next = (inline, False) if eq else (value, True)
        elif flag in _OUTPUT_FLAGS and (flag != "-o" or program not in _NO_OUTPUT_O):
            target = inline if eq else value
            skip_next = not eq
            if _EXT.search(target) and "=" not in target:
                out.append(target)
        elif arg in _DIR_FLAGS.get(program, ()):
            skip_next = True
            if value and value[0] != "-":
                out.append(value)
        elif program == "tee" and arg[:1] != "-":
            out.append(arg)
        elif arg[:1] != "-" and "*" not in arg and "?" not in arg and _EXT.search(arg):
            inputs.append(arg)
    if convert:
        ext = convert.split(":", 1)[0].strip()
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,5}", ext):
            for name in inputs:
                stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                if stem:
                    out.append(f"{outdir.rstrip('/')}/{stem}.{ext}" if outdir else f"{stem}.{ext}")
    return out


def _norm(path: str) -> str:
    path = path.strip().strip("'\"").rstrip("/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _names(paths: tuple[str, ...] | list[str]) -> set[str]:
    """Each path and its base name (a step that reads it may name either); devices and `-` are none."""
    out: set[str] = set()
    for raw in paths:
        path = _norm(raw)
        if not path or path in (".", "..", "-", "~") or path.startswith(_DEVICES):
            continue
        out.add(path.lstrip("/"))
        base = path.rsplit("/", 1)[-1]
        if len(base.strip(".")) >= 3:
            out.add(base)
    return out


def chain_of(fix: Recovery, min_support: int) -> list[Recovery]:
    """The calls that read what the fix made (`Recovery.then`), in order: at each step the call that
    most often came next, while it came in enough sessions (as many as make a fix reliable) and in at least
    half of those of the step before; at most `MAX_STEPS` calls with the fix."""
    steps: list[Recovery] = []
    node = fix
    while node.then and len(steps) + 1 < MAX_STEPS:
        nxt = min(node.then.values(), key=lambda r: (-len(r.episodes), r.example))
        n = len(nxt.episodes)
        if n < max(2, min_support // 2 + 1) or n * 2 < len(node.episodes) or injection_findings(nxt.example):
            break
        steps.append(nxt)
        node = nxt
    return steps


def with_fix(failures: list[dict[str, Any]], fixes: list[dict[str, Any]],
             then: list[list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """The failures, with the line of the fix right after the failure of the same session (else the first
    failure): a reviewer sees what went wrong and the call that fixed it. For a fix that is a chain of calls
    (`then`: each later step's lines), the lines of a session where every step has one, in order."""
    if not fixes or not failures:
        return failures
    sessions = [f.get("session_id") for f in failures]
    lines: list[dict[str, Any]] = []
    if then:
        for x in sorted(fixes, key=lambda x: sessions.index(x.get("session_id")) if x.get("session_id") in sessions
                        else len(sessions)):
            lines = [x]
            for step in then:
                line = next((e for e in step if e.get("session_id") == x.get("session_id")
                             and (e.get("seq") or 0) > (lines[-1].get("seq") or 0)), None)
                if line is None:
                    break
                lines.append(line)
            if len(lines) == len(then) + 1:
                break
        else:
            lines = []
    fix = lines[0] if lines else next((x for x in fixes if x.get("session_id") in sessions), fixes[0])
    at = sessions.index(fix["session_id"]) + 1 if fix.get("session_id") in sessions else 1
    return [*failures[:at], *(lines or [fix]), *failures[at:]]
