"""URLs in what is printed or logged: a user, a password, a query or a fragment shown as `***` (a
sessions URL never holds them, but an endpoint from AWS_ENDPOINT_URL or a driver's message may). The
standard library only, so the store's error mapping and doctor use it without importing a backend."""

from __future__ import annotations

import re

_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"`<>]+")


def redacted_url(url: str) -> str:
    """`url` with what precedes an `@` (a user, a password) and a query or fragment shown as `***`."""
    url = re.sub(r"[?#].*", "?***", url.strip(), count=1, flags=re.S)
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("://") if "://" in url.split("@", 1)[0] else ("", "", url)
    return f"{scheme}{sep}***@{rest.rsplit('@', 1)[1]}"


def redacted_urls(text: str) -> str:
    """`text` (a driver's message) with every URL in it redacted (`redacted_url`): an endpoint from
    AWS_ENDPOINT_URL may carry a token in its query or a password before an `@`."""
    return _URL_IN_TEXT.sub(lambda m: redacted_url(m.group()), text)
