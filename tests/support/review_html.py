"""Helpers for the HTML review tests: a workspace with sample sessions, a live playbook and a pending
dream whose evidence points at real sessions (one excerpt carries a script injection), and headless
Chromium (tests skip with a reason when it is absent)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

from dreamcli.sessions.paths import iter_session_files
from dreamcli.sessions.samples import install_samples
from dreamcli.workspace.fsutil import atomic_write_text
from dreamcli.workspace.home import Workspace
from tests.support.playbooks import op, write_dream, write_playbook

DREAM = "01JD3Z0000REVIEWHTML000001"
INJECTION = ("<script>document.title='PWNED';document.documentElement.setAttribute('data-pwned','1')</script>"
             "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">")


def review_workspace(ws: Workspace, *, pilot: bool = True) -> list[str]:
    """Seed `ws`; returns the entry ids of the dream."""
    install_samples(ws)
    sids = [p.stem for p in iter_session_files(ws)][:4]
    write_playbook(ws, "default", [("pb-aaaa0001", "Lessons", "Read the contract before you summarise it."),
                                   ("pb-aaaa0002", "Lessons", "Old advice that keeps failing.")])
    ev = [{"session_id": s, "seq": 2, "excerpt": f"tool error in {s}: binary file"} for s in sids]
    ops = [
        op("pb-bbbb0001", "add", text="Convert .docx files with `pandoc -t plain` before reading them.",
           evidence=ev[:2]),
        op("pb-aaaa0001", "update", text="Read the whole contract, every annex, before you summarise it.",
           old_text="Read the contract before you summarise it.", evidence=ev[2:3],
           lint=[{"severity": "warn", "rule": "length", "message": "long entry"}]),
        op("pb-aaaa0002", "retire", text=None, reason="hurt 4 graded sessions",
           evidence=[{"session_id": sids[3], "seq": 1, "excerpt": INJECTION}],
           taint=["imported-transcript", "network"]),
        op("pb-bbbb0002", "add", text="Cite clauses by section <number> & title.",
           evidence=[{"session_id": "01JD0Q8Z3V6M4T2N8K5R7W9XAB", "seq": 3, "excerpt": "a </pre> tag & more"}],
           lint=[{"severity": "block", "rule": "secret", "message": "looks like a key"}]),
    ]
    for o, kind in zip(ops, ("error_recovery", "model", "harmful", "correction"), strict=True):
        o["kind"] = kind
    d = write_dream(ws, DREAM, "default", ops)
    if pilot:
        runs = [{"pilot_id": "pl-1", "ts": "2026-11-25T00:00:00Z", "entries": ["pb-bbbb0001", "pb-aaaa0001"],
                 "lift": {"delta": 0.12, "ci95": [0.03, 0.21], "p_value": 0.01, "pairs": 40},
                 "per_entry": {"pb-bbbb0001": {"lift": {"delta": 0.2, "ci95": [-0.05, 0.4], "p_value": 0.2}}}}]
        atomic_write_text(d / "pilot.json", json.dumps({"v": 1, "dream_id": DREAM, "runs": runs}))
    return [o["entry_id"] for o in ops]


# --- Chromium ----------------------------------------------------------------------------------------

def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    exe = chromium()
    assert exe is not None
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-extensions", "--disable-background-networking", "--disable-sync",
                           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=3000", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(page: Path) -> str:
    return dump_dom_url(page.resolve().as_uri())


def dump_dom_url(url: str) -> str:
    proc = _run(["--dump-dom", url])
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


BLINK_RESOURCE_LOADER = 101845102  # the traffic annotation of requests a page makes (not the browser's own)


def page_requests(page: Path, log: Path) -> list[str]:
    """http(s) URLs the page itself asked for, from Chromium's net log (the browser's own background
    requests carry other traffic annotations). A control test checks that this sees a page's requests."""
    _run([f"--log-net-log={log}", "--disable-component-update", "--dump-dom", page.resolve().as_uri()])
    data = json.loads(log.read_text(encoding="utf-8"))
    names = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    found = []
    for event in data.get("events", []):
        params = event.get("params") or {}
        url = str(params.get("url") or "")
        if names.get(event.get("type")) == "REQUEST_ALIVE" and url.startswith(("http:", "https:")) \
                and int(params.get("traffic_annotation") or 0) == BLINK_RESOURCE_LOADER:
            found.append(url)
    return found


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 1600) -> Path:
    proc = _run([f"--screenshot={png}", f"--window-size={width},{height}", "--hide-scrollbars",
                 page.resolve().as_uri()])
    assert png.exists(), proc.stderr[-2000:]
    return png


def png_colours(png: Path, step: int = 7) -> int:
    """How many distinct colours a sample of the image's pixels has (8-bit RGB/RGBA PNG, no filters lib)."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    assert header is not None
    width, height, depth, colour = header[:4]
    assert depth == 8 and colour in (2, 6), header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    seen: set[bytes] = set()
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % step == 0:
            for x in range(0, width, step):
                seen.add(bytes(line[x * bpp:x * bpp + 3]))
        prev = line
    return len(seen)


def external_urls(html: str) -> list[str]:
    """src/href (and CSS url()) values that point off the page to http(s) or protocol-relative URLs."""
    from html.parser import HTMLParser

    found: list[str] = []

    class P(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for name, value in attrs:
                if name in ("src", "href", "action", "srcset", "poster", "data") and value:
                    v = value.strip().lower()
                    if v.startswith(("http:", "https:", "//", "ftp:")):
                        found.append(value)

    P().feed(html)
    import re

    found += re.findall(r"url\(\s*['\"]?(?:https?:)?//[^)]*\)", html)
    found += re.findall(r"@import", html)
    return found


def result_text(result: Any) -> str:
    return str(getattr(result, "stdout", "")) + str(getattr(result, "stderr", ""))
