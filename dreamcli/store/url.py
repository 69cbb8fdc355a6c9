"""Choosing the backend: `sessions.url` in config.yaml (`dreamcli init --sessions-url URL`).

No URL means the workspace's own sessions/ directory. A URL is object storage through fsspec, buffered
in sessions/: `s3://BUCKET/PREFIX` (needs `pip install 'dreamcli[s3]'`), `gs://`, `az://` with their
drivers, or `file:///mnt/shared/sessions` (a shared volume, with the same part layout; a plain path must be
absolute). An S3 bucket name is checked here (3-63 lowercase letters, digits, dots, hyphens), so `init`
refuses a misspelt one at once, and so is an empty path segment (`s3://fleet//sessions`: the keys would
keep the `//`, and no listing reads them). The scheme is lower-cased (`S3://` is `s3://`). The URL names a
place, never a secret: credentials and the endpoint come from the standard AWS variables (AWS_PROFILE,
AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, …) or the cloud's own configuration, and a URL with a user or password
in it is refused."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from dreamcli.errors import UsageError
from dreamcli.store.base import SessionStore
from dreamcli.store.schemes import check_scheme
from dreamcli.store.url_text import redacted_url
from dreamcli.workspace.home import Workspace

NO_BUCKET = ("", "file", "memory")  # schemes whose URL needs no host part
BUCKET_RULES = ("s3", "s3a")  # schemes whose host part is an S3 bucket name
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def check_url(url: str) -> str:
    """The URL, stripped and its scheme in lower case (`S3://` is `s3://`: schemes are case-insensitive, and
    fsspec knows only the lower-case ones), if it may be stored in config.yaml; UsageError otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as e:  # an unclosed `[` in the host part, say
        raise UsageError(f"the sessions URL {redacted_url(url)!r} is not a URL ({e})") from None
    if parts.scheme:
        url = parts.scheme.lower() + url[len(parts.scheme):]
        parts = parts._replace(scheme=parts.scheme.lower())
    if "@" in url or parts.password or parts.username:  # anywhere: `s3://KEY:pa/ss@bucket` splits at the `/`
        raise UsageError("the sessions URL must not carry credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                         "AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL) in the environment instead")
    if parts.query:
        raise UsageError("the sessions URL takes no query string: configure the endpoint with AWS_ENDPOINT_URL")
    if not parts.netloc and parts.scheme not in NO_BUCKET:
        raise UsageError(f"the sessions URL needs a bucket: {parts.scheme}://BUCKET/PREFIX")
    if parts.scheme in ("", "file"):
        _check_local(url, parts.netloc, parts.path)
    if parts.scheme in BUCKET_RULES:
        _check_bucket(url, parts.netloc)
    if parts.scheme not in NO_BUCKET and "//" in parts.path.rstrip("/"):
        raise UsageError(f"the sessions URL {url!r} has an empty path segment (`//`), which object storage keeps "
                         "in its keys but cannot list: give it with single slashes "
                         f"({parts.scheme}://{parts.netloc}/{'/'.join(p for p in parts.path.split('/') if p)})")
    check_scheme(url)
    return url


def _check_local(url: str, netloc: str, path: str) -> None:
    """A directory named by a plain path or file:// must be absolute: a relative one would be resolved
    against whatever directory each command runs from."""
    if netloc not in ("", "localhost") or not path.startswith("/"):
        raise UsageError(f"the sessions URL {url!r} is a relative path, which would depend on the directory each "
                         "command runs from: give an absolute one (/mnt/shared/sessions or "
                         "file:///mnt/shared/sessions)")


def _check_bucket(url: str, bucket: str) -> None:
    if not BUCKET.fullmatch(bucket) or ".." in bucket:
        raise UsageError(f"the sessions URL {url!r}: {bucket!r} is not a valid bucket name (3-63 lowercase letters, "
                         "digits, dots and hyphens, beginning and ending with a letter or digit)")


def is_local(url: str | None) -> bool:
    return not (url or "").strip()


def open_store(ws: Workspace, url: str | None = None, *, part_lines: int | None = None) -> SessionStore:
    """The workspace's session store: the local directory, or object storage buffered in sessions/."""
    from dreamcli.store.local import LocalStore

    if is_local(url):
        return LocalStore(ws)
    from dreamcli.store.objects import DEFAULT_PART_LINES, ObjectStore

    try:
        return ObjectStore(check_url(url or ""), ws.sessions_dir, part_lines=part_lines or DEFAULT_PART_LINES)
    except ImportError as e:
        raise UsageError(f"sessions.url {url!r} needs fsspec and its driver: pip install 'dreamcli[s3]' ({e})") \
            from None
