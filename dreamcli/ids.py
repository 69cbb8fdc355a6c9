"""Sortable identifiers (ULID: 48-bit millisecond time + 80 random bits, Crockford base32)."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last: tuple[int, int] = (0, 0)


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_ulid(now_ms: int | None = None) -> str:
    """A new ULID, strictly increasing within this process (monotonic within one millisecond)."""
    global _last
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        last_ms, last_rand = _last
        if ms <= last_ms:
            ms, rand = last_ms, last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last = (ms, rand)
    return _encode(ms, 10) + _encode(rand & ((1 << 80) - 1), 16)


def ulid_at(ms: int, entropy: bytes) -> str:
    """A deterministic ULID for a given time and entropy (e.g. a hash of an imported transcript's id),
    so re-importing the same transcript gives the same session id."""
    rand = int.from_bytes(entropy[:10].rjust(10, b"\0"), "big")
    return _encode(ms, 10) + _encode(rand, 16)


def ulid_time_ms(ulid: str) -> int:
    value = 0
    for ch in ulid[:10].upper():
        value = value * 32 + _ALPHABET.index(ch)
    return value


def short_id(prefix: str = "") -> str:
    """A short random id for entries and operations (e.g. `pb-3f9k2x`)."""
    rand = int.from_bytes(os.urandom(5), "big")
    return prefix + _encode(rand, 8).lower()
