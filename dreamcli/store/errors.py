"""What object storage's failures mean to the user: one line that names the store's URL (never a credential:
any URL quoted from the driver's message, such as an AWS_ENDPOINT_URL, has its user, password and query
shown as `***`) and the project's exit codes (docs/architecture.md, "Exit codes").

- exit 4 (`StoreUnavailable`, a CredentialsError): the environment — no credentials, credentials refused,
  the endpoint down or unreachable, the service failing. Fixed outside dreamcli's config.
- exit 2 (`StoreMisconfigured`, a UsageError): `sessions.url` itself is wrong — no such bucket, a name the
  service refuses.

The driver's exceptions (botocore's, s3fs's translations of them into OSError) are recognised by their
public class names and fields, so this module imports no driver: it is used by every fsspec backend."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit

from dreamcli.errors import CredentialsError, DreamError, UsageError
from dreamcli.store.url_text import redacted_url, redacted_urls

_DRIVERS = ("botocore", "aiobotocore", "aiohttp", "s3fs", "fsspec", "gcsfs", "adlfs", "google", "azure")
_CREDENTIALS = {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "ProfileNotFound",
                "NoAuthTokenError", "UnauthorizedSSOTokenError", "TokenRetrievalError", "DefaultCredentialsError"}
_UNREACHABLE = {"ConnectionError", "HTTPClientError", "EndpointConnectionError", "ConnectTimeoutError",
                "ReadTimeoutError", "ConnectionClosedError", "ProxyConnectionError", "ClientConnectorError",
                "ServerTimeoutError", "InvalidEndpointConfigurationError"}
_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
           "TokenRefreshRequired", "AllAccessDisabled", "AccountProblem", "403"}
_CREDENTIALS_HINT = "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"


class StoreUnavailable(CredentialsError):
    """The object store cannot be used from this environment: credentials, endpoint, network, service."""


class StoreMisconfigured(UsageError):
    """`sessions.url` names something the store does not have or accept (no such bucket, a bad name)."""


def is_store_failure(err: BaseException) -> bool:
    """An error of the store or its driver (an OSError, or an exception class of botocore, s3fs, …), as
    opposed to a bug of dreamcli (which stays an internal error). Only an error raised by a request to the
    store is asked about: this machine's files are read and written outside that (an OSError of its own)."""
    if isinstance(err, DreamError):
        return False
    return isinstance(err, OSError) or any(c.__module__.split(".")[0] in _DRIVERS for c in type(err).__mro__)


def error_code(err: BaseException) -> str | None:
    """The service's error code (`NoSuchBucket`, `AccessDenied`, …) of a botocore ClientError, or of the
    OSError s3fs made of one (its cause)."""
    for e in (err, err.__cause__, err.__context__):
        response = getattr(e, "response", None)
        if isinstance(response, dict):
            error = response.get("Error") or {}
            code = error.get("Code") if isinstance(error, dict) else None
            if code:
                return str(code)
    return None


def is_missing_bucket(err: BaseException) -> bool:
    return error_code(err) == "NoSuchBucket"


def store_error(url: str, err: BaseException, doing: str) -> DreamError:
    """The project's error for a failure of the store at `url` while `doing` (`list`, `read`, `upload`)."""
    if isinstance(err, DreamError):
        return err
    names = {c.__name__ for c in type(err).__mro__}
    code = error_code(err)
    where = f"{doing} {redacted_url(url)}"
    if code == "NoSuchBucket":
        return StoreMisconfigured(f"cannot {where}: the bucket {_bucket(url)!r} does not exist (create it, or fix "
                                  "sessions.url in config.yaml)")
    if "ParamValidationError" in names or code in ("InvalidBucketName", "InvalidURI"):
        return StoreMisconfigured(f"cannot {where}: the store refuses the URL as invalid (S3 bucket names are 3-63 "
                                  "lowercase letters, digits, dots and hyphens; fix sessions.url in config.yaml)")
    s3 = urlsplit(url).scheme.lower() in ("s3", "s3a")
    if names & _CREDENTIALS:
        return StoreUnavailable(f"cannot {where}: no usable credentials ({_short(err)})"
                                + (f": {_CREDENTIALS_HINT}" if s3 else ""))
    if isinstance(err, PermissionError) or code in _DENIED:
        return StoreUnavailable(f"cannot {where}: access denied{f' ({code})' if code else ''}: check the "
                                + (f"credentials ({_CREDENTIALS_HINT}) and the bucket's policy" if s3 else
                                   f"permissions ({_short(err)})"))
    if names & _UNREACHABLE or isinstance(err, ConnectionError | TimeoutError):
        return StoreUnavailable(f"cannot {where}: the object store does not answer{_endpoint(err)} "
                                f"({type(err).__name__})" + (": check AWS_ENDPOINT_URL and the network" if s3 else ""))
    return StoreUnavailable(f"cannot {where}: the object store failed ({code or type(err).__name__}: {_short(err)})")


@contextlib.contextmanager
def store_errors(url: str, doing: str) -> Iterator[None]:
    """The store's and its driver's errors, raised inside the block, as the project's (`store_error`)."""
    try:
        yield
    except Exception as e:
        if not is_store_failure(e):
            raise
        raise store_error(url, e, doing) from e


def _bucket(url: str) -> str:
    return urlsplit(url).netloc or url


def _endpoint(err: BaseException) -> str:
    """` at scheme://host:port` of the endpoint botocore tried (never a user or password in it), or ''."""
    kwargs = getattr(err, "kwargs", None)
    raw = kwargs.get("endpoint_url") if isinstance(kwargs, dict) else None
    if not raw:
        return ""
    try:
        parts = urlsplit(str(raw))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return ""
    return f" at {parts.scheme}://{host}{port}" if host else ""


def _short(err: BaseException) -> str:
    """The first line of the error's message, its URLs redacted, at most 160 characters."""
    text = redacted_urls((str(err).strip().splitlines() or [type(err).__name__])[0])
    return text if len(text) <= 160 else text[:157] + "..."
