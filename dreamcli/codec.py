"""The JSON codec of every hot path: session-log lines read and written, and imported transcripts.

msgspec, picked by measurement (docs/benchmarks.md, "JSON codec"): on session-log lines it decodes
2.7x and encodes 6x as fast as the standard library, and it is a declared dependency, so there is no
second code path. Output is what `json.dumps(obj, ensure_ascii=False, separators=(",", ":"))` gives
for JSON data (compact, UTF-8, non-ASCII unescaped), except that exponents have no `+` (`1e16`, the
same number to any reader). The standard library stays for the cold paths.
"""

from __future__ import annotations

from typing import Any

import msgspec

from dreamcli.textnorm import LONE_SURROGATE

EncodeError = msgspec.EncodeError


class DecodeError(ValueError):
    """Malformed JSON. A ValueError, as `json.loads` raises, so `except ValueError` keeps working:
    msgspec's own DecodeError is one only from 0.19 on (0.18.6, the lowest declared, is not)."""

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def loads(data: bytes | str) -> Any:
    """Decode one JSON document. Raises ValueError (DecodeError) on malformed input and RecursionError
    on nesting deeper than the interpreter allows, like `json.loads`."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as e:
        raise DecodeError(str(e)) from None


def loads_as_json_reads(data: bytes | str) -> Any:
    """Decode one JSON document as `json.loads` reads it, msgspec first: what msgspec refuses and the
    standard library reads (NaN, Infinity, 1e400, a lone surrogate escape, a BOM) goes to the standard
    library. Raises ValueError when neither reads it, nesting too deep to read included."""
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, RecursionError):
        pass
    import json  # the cold path only

    try:
        return json.loads(data)
    except RecursionError:
        raise DecodeError("nested deeper than JSON can be read") from None


def loads_rfc8259(data: bytes) -> Any:
    """Decode one JSON text (RFC 8259) in UTF-8 another program wrote, msgspec first, at `loads`' cost.
    What msgspec refuses and JSON allows goes to the standard library (`_loads_refused`): a lone surrogate
    escape (a cut emoji, as JavaScript tools write it), read as U+FFFD; a number beyond float range, read
    as None; a leading byte-order mark. Raises UnicodeDecodeError on bytes that are not UTF-8, ValueError
    (DecodeError) on what is not JSON (NaN, Infinity) or nested too deep for the standard library, and
    RecursionError on nesting deeper than msgspec reads, like `loads`."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError:
        return _loads_refused(data)


def _loads_refused(data: bytes) -> Any:
    import json  # the cold path only

    try:
        found = json.loads(data.decode("utf-8-sig"), parse_constant=_not_json, parse_float=_finite_or_none)
    except RecursionError:  # a surrogate escape in a line nested deeper than Python reads
        raise DecodeError("nested deeper than JSON can be read") from None
    return without_lone_surrogates(found)


def _not_json(token: str) -> Any:
    raise DecodeError(f"{token} is not JSON")


def _finite_or_none(token: str) -> float | None:
    value = float(token)
    return value if value - value == 0 else None  # inf - inf is nan


def dumps(obj: Any) -> bytes:
    """Encode `obj` as compact UTF-8 JSON bytes. Raises TypeError for a type JSON cannot hold and
    UnicodeEncodeError for a lone surrogate (`without_lone_surrogates` cleans such data); NaN and
    infinities become null."""
    return _encoder.encode(obj)


def dumps_line(obj: Any) -> bytes:
    """One JSONL line: `dumps(obj)` and a newline."""
    return _encoder.encode(obj) + b"\n"




def utf8_safe(items: list[Any]) -> list[Any]:
    """`items`, each one that does not encode as UTF-8 JSON (a lone surrogate escape another tool wrote, `"\\ud800"`)
    replaced by a copy with U+FFFD (`without_lone_surrogates`). Encoding is far cheaper than copying (a 60 MB
    session: 0.1 s against 1.9 s), so clean items, nearly all, stay the same objects, and a clean list is
    returned as it is."""
    out = items
    for i, item in enumerate(items):
        try:
            _encoder.encode(item)
        except (UnicodeEncodeError, TypeError, EncodeError):  # not JSON (TypeError, EncodeError): cleaned too
            if out is items:
                out = list(items)
            out[i] = without_lone_surrogates(item)
    return out


def without_lone_surrogates(obj: Any) -> Any:
    """`obj` (JSON-like) with every lone surrogate in its strings, keys included, replaced by U+FFFD
    (a non-UTF-8 file name read with surrogateescape, `\\ud800` in a model's text): what `dumps`
    refuses with UnicodeEncodeError. A copy (tuples become lists); walks without recursion, so any
    depth. For the slow path only, once encoding failed: clean data never needs it."""
    if isinstance(obj, str):
        return LONE_SURROGATE.sub("\ufffd", obj)
    if not isinstance(obj, dict | list | tuple):
        return obj
    root: Any = {} if isinstance(obj, dict) else []
    stack: list[tuple[Any, Any]] = [(obj, root)]
    while stack:
        src, dst = stack.pop()
        if isinstance(src, dict):
            for key, value in src.items():
                dst[LONE_SURROGATE.sub("\ufffd", key) if isinstance(key, str) else key] = _copy(value, stack)
        else:
            dst.extend(_copy(value, stack) for value in src)
    return root


def _copy(value: Any, stack: list[tuple[Any, Any]]) -> Any:
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        new: Any = {}
    elif isinstance(value, list | tuple):
        new = []
    else:
        return value
    stack.append((value, new))
    return new
