"""A scripted fake of the Anthropic Messages API for tests and benchmarks (stdlib only, threaded).

    with FakeAnthropic() as server:
        server.expect(tool_reply(tool_use("read_file", {"path": "a"})), text_reply("done"))
        client = anthropic.Anthropic(base_url=server.url, api_key="x")

Each POST /v1/messages takes the next scripted reply (`expect`), or, when the script is empty, asks
`server.responder(req)` (must be thread-safe). A request nobody expected (unknown path, a `match`
that says no, a body the real API would refuse such as a tool_use without its tool_result, nothing
scripted) is answered HTTP 400 (not retried) and listed in `server.unexpected`; `server.check()` (or a
pytest fixture calling it after the test, as dreamcli's own `fake_anthropic` in tests/conftest.py does)
fails the test for it and for scripted replies left unused (unless `server.allow_leftovers`).

Replies: text_reply, tool_reply(tool_use(...)), error_reply(status, retry_after=...), drop(),
stream_error_reply(partial_text), or Reply(content=[...]) with any blocks (thinking(...) too).
Streaming requests get the API's SSE events. Knobs: latency (s before each answer),
fast_retries (retryable errors say "retry after 1 ms" unless they carry retry_after; default on),
validate_requests, batch_polls_before_end, models (GET /v1/models). Also served:
/v1/messages/count_tokens (never unexpected), the Message Batches API (`batches`) and the Managed
Agents endpoints (`managed`: sessions, memory stores, dreams; see `managed_agents`).
Records: requests (messages calls incl. batch items), all_requests, count_tokens_requests, unexpected.
"""

from __future__ import annotations

import threading
import traceback
from collections import deque
from collections.abc import Callable

from dreamcli.testing.fake_anthropic.batches import BatchStore
from dreamcli.testing.fake_anthropic.http_handler import FakeHTTPServer
from dreamcli.testing.fake_anthropic.managed_agents import ManagedAgentsRoutes
from dreamcli.testing.fake_anthropic.recorded import RecordedRequest
from dreamcli.testing.fake_anthropic.replies import (
    Reply,
    drop,
    error_reply,
    stream_error_reply,
    text_reply,
    thinking,
    tool_reply,
    tool_use,
)
from dreamcli.testing.fake_anthropic.validation import check_messages_body

__all__ = [
    "FakeAnthropic",
    "RecordedRequest",
    "Reply",
    "drop",
    "error_reply",
    "stream_error_reply",
    "text_reply",
    "thinking",
    "tool_reply",
    "tool_use",
]

Responder = Callable[[RecordedRequest], Reply]


class FakeAnthropic:
    """The fake server. Not started until `start()` (or `with`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.latency: float = 0.0
        self.responder: Responder | None = None
        self.allow_leftovers: bool = False
        self.validate_requests: bool = True  # answer 400 (and flag) bodies the real API would refuse
        self.batch_polls_before_end: int = 1
        # retryable error replies without retry_after tell the client to retry after 1 ms (not 0.5-8 s)
        self.fast_retries: bool = True
        self.models: list[str] | None = None  # GET /v1/models; None: the SDK's current model ids
        self.requests: list[RecordedRequest] = []  # /v1/messages requests, incl. batch items
        self.unexpected: list[RecordedRequest] = []
        self.all_requests: list[RecordedRequest] = []  # every HTTP request, in arrival order
        self.count_tokens_requests: list[RecordedRequest] = []
        self._script: deque[Reply] = deque()
        self._consumed = 0
        self._lock = threading.Lock()
        self._script_lock = threading.Lock()
        self._host, self._port = host, port
        self._httpd: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.batches = BatchStore(self)
        self.managed = ManagedAgentsRoutes()  # Managed Agents endpoints; seed through .managed.data

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        if self._httpd is not None:
            return self
        httpd = FakeHTTPServer((self._host, self._port), self)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-anthropic", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_all_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FakeAnthropic is not started")
        host, port = self._httpd.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}"

    # -- scripting -------------------------------------------------------------------------------

    def expect(self, *replies: Reply) -> FakeAnthropic:
        """Append scripted replies; each incoming /v1/messages request takes the next one."""
        for reply in replies:
            if not isinstance(reply, Reply):
                raise TypeError(f"expect() takes Reply objects (text_reply(...), ...), got {reply!r}")
        with self._script_lock:
            self._script.extend(replies)
        return self

    @property
    def pending(self) -> list[Reply]:
        """Scripted replies not yet used."""
        with self._script_lock:
            return list(self._script)

    def problems(self) -> list[str]:
        """Everything that should fail a test: unexpected requests, then unused scripted replies."""
        lines = [f"unexpected request: {r.describe()} -- {r.unexpected}" for r in list(self.unexpected)]
        if not self.allow_leftovers:
            pending = self.pending
            for n, reply in enumerate(pending, start=self._consumed + 1):
                lines.append(f"scripted reply #{n} was never requested: {reply.describe()}")
        return lines

    def assert_done(self) -> None:
        """Raise AssertionError if scripted replies remain (ignores allow_leftovers)."""
        pending = self.pending
        if pending:
            listed = "\n  ".join(r.describe() for r in pending)
            raise AssertionError(f"fake Anthropic: {len(pending)} scripted replies not consumed:\n  {listed}")

    def check(self) -> None:
        """Raise AssertionError listing problems() if there are any (used by the pytest fixture)."""
        lines = self.problems()
        if lines:
            raise AssertionError("fake Anthropic server:\n  " + "\n  ".join(lines))

    # -- request handling (called from handler threads) ------------------------------------------

    def record(self, rec: RecordedRequest, *, message: bool) -> None:
        with self._lock:
            self.all_requests.append(rec)
            if message:
                self.requests.append(rec)

    def record_count_tokens(self, rec: RecordedRequest) -> None:
        with self._lock:
            self.count_tokens_requests.append(rec)

    def flag(self, rec: RecordedRequest, reason: str) -> None:
        rec.unexpected = reason
        with self._lock:
            self.unexpected.append(rec)

    def resolve(self, rec: RecordedRequest) -> Reply | None:
        """The reply for a messages request, or None after flagging it as unexpected."""
        if self.validate_requests:
            problem = check_messages_body(rec.body)
            if problem:
                self.flag(rec, f"the real API would refuse this body: {problem}")
                return None
        with self._script_lock:  # held while a match predicate runs, so a reply is used once
            reply = self._script[0] if self._script else None
            if reply is not None:
                label = f"scripted reply #{self._consumed + 1}"
                if reply.match is not None and not self._matches(reply, rec, label):
                    return None
                self._script.popleft()
                self._consumed += 1
        if reply is None:
            responder = self.responder
            if responder is None:
                self.flag(rec, "no scripted reply left and no responder set")
                return None
            try:
                reply = responder(rec)
            except Exception:
                self.flag(rec, "responder raised:\n" + traceback.format_exc())
                return None
            if not isinstance(reply, Reply):
                self.flag(rec, f"responder returned {reply!r}, not a Reply")
                return None
            if reply.match is not None and not self._matches(reply, rec, "responder's reply"):
                return None
        rec.reply = reply
        return reply

    def _matches(self, reply: Reply, rec: RecordedRequest, label: str) -> bool:
        assert reply.match is not None
        try:
            ok = bool(reply.match(rec))
        except Exception:
            self.flag(rec, f"match predicate of {label} raised:\n" + traceback.format_exc())
            return False
        if not ok:
            self.flag(rec, f"match predicate of {label} ({reply.describe()}) returned False")
        return ok
