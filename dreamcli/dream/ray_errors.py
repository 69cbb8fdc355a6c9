"""What Ray's failures mean to the user of `dream --executor ray` (docs/scaling.md): one line, and the project's
exit codes (docs/architecture.md, "Exit codes").

- An address ray.init cannot read (`nonsense`, `HOST:`, `http://…`): UsageError (2), naming the forms it takes.
- A Ray Client address (`ray://HOST:PORT`) without Ray Client's dependency: UsageError (2), saying what to
  install (`dreamcli[ray]` installs Ray without it).
- A cluster that cannot be joined (none found for `auto`, a refused token, another Ray version): CredentialsError
  (4, an endpoint that does not answer).
- A task's failure: the task's own exception (a DreamError keeps its message and exit code), not Ray's task
  error, whose text is the remote traceback; the loss of its node (LOST_NODE): CredentialsError (4); any other
  Ray error in one line.

Imports no `ray`: the executor passes Ray's public exception classes in."""

from __future__ import annotations

import importlib.util
import os
import re

from dreamcli.errors import CredentialsError, DreamError, UsageError, WorkFailed

FORMS = "give HOST:PORT (the head's address, e.g. HOST:6379), auto or local"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_REASON = 300  # characters of Ray's own message kept in the line
# ray.exceptions' errors of a node gone (its raylet killed, the machine lost): the environment, as an unreachable
# cluster is, not the dream's input or a bug
LOST_NODE = ("LocalRayletDiedError", "NodeDiedError", "ObjectLostError", "RaySystemError")


def ray_target(address: str | None) -> tuple[str, str]:
    """The address ray.init will use (`address`, else RAY_ADDRESS; "" for none: local Ray) and who gave it."""
    given = "--ray-address" if address else "RAY_ADDRESS"
    return (address or os.environ.get("RAY_ADDRESS") or "").strip(), given


def address_problem(target: str) -> str | None:
    """None when ray.init takes `target`: "" (local Ray), auto, local, HOST:PORT or ray://HOST:PORT; else why
    not, in a few words."""
    if target in ("", "auto", "local"):
        return None
    scheme, sep, rest = target.partition("://")
    if sep and scheme != "ray":
        return f"{scheme}:// is not an address Ray joins"
    host, colon, port = (rest.rstrip("/") if sep else target).rpartition(":")
    host = host.removeprefix("[").removesuffix("]")  # [::1]:6379
    if not colon or not port:
        return "it has no port"
    if not host:
        return "it has no host"
    if not re.fullmatch(r"[^\s/\\@?#]+", host):
        return f"{host!r} is not a host"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"the port {port!r} is not a number from 1 to 65535"
    return None


def check_address(address: str | None) -> None:
    """UsageError (one line) when ray.init would refuse the address for its form, or for a missing Ray Client."""
    target, given = ray_target(address)
    problem = address_problem(target)
    if problem:
        raise UsageError(f"--executor ray: {target!r} ({given}) is not a Ray address: {problem}; {FORMS}")
    if target.startswith("ray://") and not _ray_client_installed():
        raise UsageError(f"--executor ray: {target} ({given}) is a Ray Client address, which needs Ray Client: "
                         "pip install 'ray[client]'; or give the head's address (HOST:6379)")


def _ray_client_installed() -> bool:
    """Ray Client's one dependency beyond Ray (the `client` extra of ray): grpcio. Found, not imported."""
    try:
        return importlib.util.find_spec("grpc") is not None
    except ValueError:  # imported already, without a spec
        return True
    except ImportError:
        return False


def join_failure(e: Exception, address: str | None) -> DreamError:
    """What to raise for ray.init's error `e`: ValueError (an address it refuses) is a usage error; a
    ConnectionError or RuntimeError (no cluster found, refused, another Ray version) an unreachable one."""
    target, given = ray_target(address)
    reason = first_sentence(e)
    cause = e.__cause__  # Ray's "Failed to connect to Ray cluster at …" says why only there
    if cause is not None and first_sentence(cause) not in reason:
        reason = f"{reason}: {first_sentence(cause)}"
    if isinstance(e, ValueError):
        return UsageError(f"--executor ray: Ray refused the address {target!r} ({given}): {reason}; {FORMS}")
    if not target:
        return CredentialsError(f"--executor ray: cannot start Ray on this machine: {reason}")
    return CredentialsError(f"--executor ray: cannot join the Ray cluster at {target} ({given}): {reason}; check "
                            "that it runs (ray start --head), its token (RAY_AUTH_TOKEN) and its Ray version, or "
                            "give another address")


def task_failure(e: BaseException, task_error: type[BaseException],
                 lost: tuple[type[BaseException], ...] = ()) -> BaseException:
    """What to raise for the error `e` of ray.get: for Ray's task error (`task_error`), the exception the task
    raised (its `cause`); for the loss of the node that ran it (`lost`: Ray's classes named in LOST_NODE), exit 4,
    the environment; for another Ray error, or a task error whose cause did not come back, one line."""
    if lost and isinstance(e, lost):
        return CredentialsError(f"--executor ray: the Ray cluster lost a task's node: {first_sentence(e)}; check "
                                "the cluster (ray status) and dream again")
    if isinstance(e, task_error):
        cause = getattr(e, "cause", None)
        if isinstance(cause, Exception) and not isinstance(cause, task_error):
            return cause
        return WorkFailed(f"--executor ray: a task failed: {last_line(e)}")
    return WorkFailed(f"--executor ray: {first_sentence(e)}")


def _lines(e: BaseException) -> list[str]:
    return [line.strip() for line in ANSI.sub("", str(e)).splitlines() if line.strip()]


def first_sentence(e: BaseException) -> str:
    """The first sentence of the first line of `e`'s message (Ray's go on with advice for its own CLI)."""
    lines = _lines(e)
    text = lines[0].split(". ")[0].rstrip(".") if lines else type(e).__name__
    return text[:MAX_REASON]


def last_line(e: BaseException) -> str:
    """The last line of a remote traceback: the exception and its message."""
    lines = _lines(e)
    return (lines[-1] if lines else type(e).__name__)[:MAX_REASON]
