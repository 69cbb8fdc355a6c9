"""Host names in commands and messages (`deploy@build.example.org`, `pg_isready -h db.internal`,
`https://api.internal.example`, `db.local:5432`): a host is never one of the files the dream makes generic
(FILE.ext, `<file.ext>`), so a command stays one that can be run; in an error's template a host is `<host>`
(`dreamcli.dream.text.mask`). Pure functions, no I/O.

The context decides first (after `user@`, `://` or `://user:pass@`, the value of `--host`); then a last label
that names only a file (`.py`, `.pdf`, `.tar.gz`) or only a host (`.org`, `.internal`); then weaker context for
the rest (`-h NAME`, `NAME:5432`, "host NAME", "resolve NAME", the argument of ssh or ping). `.sh` is a file's
extension and `.local`, `.com`, `.io` also end files (`config.local`, `COMMAND.COM`): the context decides."""

from __future__ import annotations

import re

# last labels that name a host and no common file (`.com`, `.io`, `.local`, `.home`, `.co`, `.cloud`, `.example` end
# files too: `COMMAND.COM`, `vendor.io`, `config.local`, `settings.example`: only the context makes them hosts)
_HOST_LABELS = frozenset({
    "org", "net", "edu", "gov", "mil", "us", "uk", "de", "fr", "eu", "nl", "jp", "cn", "ru",
    "ca", "au", "ch", "se", "internal", "intranet", "localdomain", "localhost", "lan", "corp",
    "invalid", "arpa"})
# extensions of files: before weak context (`du -h backup.tar.gz`, `x.py:12`), a name ending so is a file
_FILE_EXTS = frozenset({
    "py", "pyi", "pyc", "pyx", "ipynb", "js", "mjs", "cjs", "ts", "tsx", "jsx", "mts", "cts", "vue", "svelte",
    "json", "jsonl", "ndjson", "yaml", "yml", "toml", "ini", "cfg", "conf", "env", "xml", "html", "htm", "css",
    "scss", "sass", "less", "md", "rst", "txt", "log", "csv", "tsv", "sql", "db", "sqlite", "sqlite3", "c", "h",
    "cc", "cpp", "cxx", "hpp", "hh", "go", "rs", "java", "kt", "kts", "scala", "rb", "php", "pl", "pm", "sh",
    "bash", "zsh", "fish", "ps1", "bat", "cmd", "lua", "r", "jl", "swift", "m", "mm", "cs", "fs", "vb", "dart",
    "ex", "exs", "erl", "hs", "ml", "clj", "tf", "tfvars", "hcl", "proto", "graphql", "gradle", "lock", "pdf",
    "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "epub", "pages", "png", "jpg", "jpeg",
    "gif", "svg", "webp", "ico", "bmp", "tif", "tiff", "heic", "mp3", "mp4", "wav", "flac", "ogg", "mov", "avi",
    "mkv", "webm", "zip", "tar", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "jar", "war", "whl", "egg", "deb",
    "rpm", "apk", "dmg", "iso", "img", "so", "dll", "dylib", "exe", "bin", "o", "a", "out", "pem", "key", "crt",
    "cer", "csr", "p12", "pfx", "pub", "gpg", "asc", "sig", "parquet", "avro", "orc", "pkl", "pickle", "npy", "npz",
    "h5", "onnx", "pt", "pth", "ckpt", "bak", "tmp", "swp", "patch", "diff", "ai", "psd", "eml", "msg", "ics", "vcf"})
# `--host NAME`, `--hostname=NAME` (`user@NAME` and `scheme://NAME` are tested first, without a regex)
_HOST_OPTION = re.compile(r"(?<!\S)--host(?:name)?(?:=|\s+)$")
# weak context: `-h NAME` (`du -h` takes no value: the extension decides first), "host NAME", "hostname: NAME",
# a resolver's or a connection's error ("resolve NAME", "ENOTFOUND NAME", "connect to NAME")
_WEAK = re.compile(r"(?<!\S)-h\s+$|(?i:\b(?:host(?: ?name)?|resolve|connect(?:ing)? to):?\s+)$|\bENOTFOUND\s+$")
# a URL's userinfo before `@`, a password included (`https://alice:[REDACTED:url_password]@`)
_USERINFO = re.compile(r"://[^\s/@]*@$")
_PORT = re.compile(r":\d{1,5}(?![\w:])")  # `host:5432`, not `file.py:12:5:` (a line and a column) nor `x.y:01AB`
_TOKEN_TAIL = re.compile(r"[\w.-]*")
# programs whose dotted argument is a host unless it ends in a file's extension (`ssh -i deploy.pem box.prod`)
CLIENTS = frozenset({"ssh", "mosh", "ping", "ping6", "dig", "nslookup", "host", "telnet", "nc", "ncat",
                     "traceroute", "whois", "pg_isready"})
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")  # of `user` in `user@`


def is_host(text: str, start: int, end: int, client: bool = False) -> bool:
    """Is the dotted name `text[start:end]` a host where it stands? `client`: the command runs a network
    client (`CLIENTS`), whose dotted arguments are hosts unless they end in a file's extension. The cheap
    tests come first: most names asked about are files (`license-2019.docx`)."""
    name = text[start:end].rstrip(".")
    dot = name.rfind(".")
    if dot <= 0 or "/" in name:
        return False
    before = text[start - 1] if start else " "
    if before == "@":  # `deploy@host`, `://user:pass@host`, not curl's `-d @file.json`
        if (start >= 2 and text[start - 2] in _TOKEN_CHARS) or after_userinfo(text, start):
            return True
    elif before == "/":
        if start >= 3 and text.startswith("://", start - 3):
            return True
    elif before in " =" and _HOST_OPTION.search(text, max(0, start - 16), start):
        return True
    label = name[dot + 1:].lower()
    if label in _FILE_EXTS or not label.isalpha():
        return False
    return (label in _HOST_LABELS or client or _WEAK.search(text, max(0, start - 16), start) is not None
            or _PORT.match(text, end) is not None)


def after_userinfo(text: str, start: int) -> bool:
    """Does `text[start:]` begin a URL's host after its userinfo (`https://alice:secret@` + host)?"""
    return _USERINFO.search(text, max(0, start - 120), start) is not None


def replace_unless_host(text: str, name: str, generic: str, client: bool = False) -> str:
    """`text` with `name` made `generic` wherever it is not a host (`deploy@build.example.org`, `-h db.internal`)."""
    parts: list[str] = []
    pos = 0
    i = text.find(name)
    while i >= 0:
        end = i + len(name)
        tail = _TOKEN_TAIL.match(text, end)  # the rest of the word: `db.intern` of `db.internal`
        if not is_host(text, i, tail.end() if tail else end, client):
            parts += (text[pos:i], generic)
            pos = end
        i = text.find(name, end)
    return "".join(parts) + text[pos:] if parts else text


# --- in message templates (dreamcli.dream.text.mask): a host as `<host>`, a file as `<file.ext>` -------

def host_mark(m: re.Match[str]) -> str:
    """`<host>` for a host (`deploy@<host>`, `https://<host>`); any other dotted name as written: a file
    (`config.local`, masked by `_FILE`), the user of `alice.smith@host`, a path's first part (`github.com/x`)."""
    text, start, end = m.string, m.start(), m.end()
    if text[end:end + 1] == "@" or (text[end:end + 1] == "/" and text[start - 3:start] != "://"
                                    and not after_userinfo(text, start)):
        return m.group(0)
    return "<host>" if is_host(text, start, end) else m.group(0)


def file_or_host(m: re.Match[str]) -> str:
    """`<file.docx>` for a file name; `<host>` for a host; a URL's file after its host (`<host>/v1/users.json`
    -> `<host>/<file.json>`, an address `//10.0.0.5/x.json` -> `//10.0.0.5/<file.json>`); a user's name before
    `@` as written (`alice.smith@<host>`)."""
    name, start, text = m.group(0), m.start(), m.string
    if name[:2] == "//" and name[2:3] != "/" and text[start - 1:start] == ":":
        host, _, rest = name[2:].partition("/")
        return f"//{host}/{file_mark(m)}" if rest else name
    if "/" in name:
        return "/" + file_mark(m) if name[0] == "/" and text.endswith("<host>", 0, start) else file_mark(m)
    if text[m.end():m.end() + 1] == "@":
        return name
    return "<host>" if is_host(text, start, m.end()) else file_mark(m)


def file_mark(m: re.Match[str]) -> str:
    """`<file.docx>`, `<file.json.gz>`: the extension (group 1, lower case) and a compression (group 2)."""
    return f"<file.{m.group(1).lower()}{'.' + m.group(2) if m.group(2) else ''}>"


def path_or_host(m: re.Match[str]) -> str:
    """`<path>` for a path; a URL's authority (`//user@<host>:port/`) as written."""
    return m.group(0) if m.group(0)[:2] == "//" else "<path>"
