"""Which `sessions.url` schemes dreamcli supports (docs/scaling.md) and what each needs installed.

Pure and cheap: nothing is imported to find out whether a driver is there (`importlib.util.find_spec`),
so `init --sessions-url` and `doctor` can say what is missing before a dream needs it."""

from __future__ import annotations

from importlib.util import find_spec
from urllib.parse import urlsplit

from dreamcli.errors import UsageError

# scheme -> the fsspec driver it needs (None: fsspec alone), and how to install both
SCHEMES: dict[str, tuple[str | None, str]] = {
    "s3": ("s3fs", "pip install 'dreamcli[s3]'"),
    "gs": ("gcsfs", "pip install fsspec gcsfs"),
    "az": ("adlfs", "pip install fsspec adlfs"),
    "file": (None, "pip install fsspec"),
    "memory": (None, "pip install fsspec"),
}


def scheme_of(url: str) -> str:
    return urlsplit(url.strip()).scheme.lower()


def check_scheme(url: str) -> None:
    """UsageError (exit 2) for a URL whose scheme dreamcli does not support (a plain path is a local one)."""
    scheme = scheme_of(url)
    if scheme and scheme not in SCHEMES:
        raise UsageError(f"the sessions URL {url.strip()!r}: {scheme}:// is not supported; give "
                         f"{', '.join(s + '://' for s in SCHEMES)} (docs/scaling.md)")


def missing_driver(url: str) -> tuple[str, str] | None:
    """(what is missing, the pip command) when the URL's packages are not installed; None when they are."""
    driver, install = SCHEMES.get(scheme_of(url) or "file", (None, "pip install fsspec"))
    for module in ("fsspec", driver):
        if module is not None and find_spec(module) is None:
            return module, install
    return None
