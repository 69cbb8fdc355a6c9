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

# DecodeError is a ValueError subclass, so `except ValueError` around `loads` keeps working.
DecodeError = msgspec.DecodeError
EncodeError = msgspec.EncodeError

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def loads(data: bytes | str) -> Any:
    """Decode one JSON document. Raises ValueError (DecodeError) on malformed input and RecursionError
    on nesting deeper than the interpreter allows, like `json.loads`."""
    return _decoder.decode(data)


def dumps(obj: Any) -> bytes:
    """Encode `obj` as compact UTF-8 JSON bytes. Raises TypeError for a type JSON cannot hold and
    UnicodeEncodeError for a lone surrogate; NaN and infinities become null."""
    return _encoder.encode(obj)


def dumps_line(obj: Any) -> bytes:
    """One JSONL line: `dumps(obj)` and a newline."""
    return _encoder.encode(obj) + b"\n"
