"""A scripted fake of the Anthropic Messages API for tests and benchmarks (stdlib only, threaded).

    with FakeAnthropic() as server:
        server.expect(text_reply("hello"), tool_reply(tool_use("read_file", {"path": "a"})))
        client = anthropic.Anthropic(base_url=server.url, api_key="x")
        ...

Each POST /v1/messages takes the next scripted reply (`expect`), or, when the script is empty, asks
`server.responder(req)`. A request nobody expected (unknown path, a `match` that says no, a body the
real API would refuse, nothing scripted) is answered with HTTP 400 and listed in `server.unexpected`;
the pytest fixture `fake_anthropic` fails the test for it and for scripted replies left unused.
Streaming requests get a real SSE stream; /v1/messages/count_tokens and the Message Batches API
(tests.fakes.batches) are served too.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.batches import BatchStore
from tests.fakes.recorded import RecordedRequest, parse_body
from tests.fakes.replies import (
    Reply,
    drop,
    error_reply,
    estimate_tokens,
    message_json,
    new_id,
    text_reply,
    thinking,
    tool_reply,
    tool_use,
)
from tests.fakes.sse import encode_event, message_events
from tests.fakes.validation import check_messages_body

__all__ = [
    "FakeAnthropic",
    "RecordedRequest",
    "Reply",
    "drop",
    "error_reply",
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
        self.requests: list[RecordedRequest] = []  # /v1/messages requests, incl. batch items
        self.unexpected: list[RecordedRequest] = []
        self.all_requests: list[RecordedRequest] = []  # every HTTP request, in arrival order
        self.count_tokens_requests: list[RecordedRequest] = []
        self._script: deque[Reply] = deque()
        self._consumed = 0
        self._lock = threading.Lock()
        self._script_lock = threading.Lock()
        self._host, self._port = host, port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.batches = BatchStore(self)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        if self._httpd is not None:
            return self
        httpd = _Server((self._host, self._port), _Handler)
        httpd.fake = self
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
        return f"http://{host}:{port}"

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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    fake: FakeAnthropic

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def close_all_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.open_connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # client went away or the server is stopping; real errors are flagged in _Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 120  # idle keep-alive connections end eventually

    def setup(self) -> None:
        super().setup()
        with self.server.conn_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.server.conn_lock:
            self.server.open_connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    # -- plumbing --------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        fake = self.server.fake
        raw = self._read_body()
        path, _, query = self.path.partition("?")
        body = parse_body(raw)
        rec = RecordedRequest(
            method=self.command,
            path=path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            stream=isinstance(body, dict) and body.get("stream") is True,
            t_start=time.monotonic(),
            query=query,
            raw_body=raw,
        )
        try:
            if self.command == "POST" and path == "/v1/messages":
                fake.record(rec, message=True)
                self._messages(rec)
            elif self.command == "POST" and path == "/v1/messages/count_tokens":
                fake.record(rec, message=False)
                with fake._lock:
                    fake.count_tokens_requests.append(rec)
                self.send_json(200, {"input_tokens": estimate_tokens(raw.decode("utf-8", "replace"))})
            elif path.startswith("/v1/messages/batches"):
                fake.record(rec, message=False)
                fake.batches.handle(self, rec)
            else:
                fake.record(rec, message=False)
                self.unexpected(rec, "no such endpoint in the fake server")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
        except Exception:
            fake.flag(rec, "fake server crashed:\n" + traceback.format_exc())
            with contextlib.suppress(OSError):
                self._send_unexpected(rec)
        finally:
            rec.t_end = time.monotonic()

    def _messages(self, rec: RecordedRequest) -> None:
        fake = self.server.fake
        reply = fake.resolve(rec)
        if reply is None:
            self._send_unexpected(rec)
            return
        delay = reply.latency if reply.latency is not None else fake.latency
        if delay > 0:
            time.sleep(delay)
        if reply.drop:
            self.drop_connection()
        elif reply.is_error:
            self.send_json(reply.status, reply.error_body(), reply.response_headers())
        elif rec.stream:
            self._send_stream(message_json(reply, rec.body), reply.stream_delay)
        else:
            self.send_json(200, message_json(reply, rec.body))

    def unexpected(self, rec: RecordedRequest, reason: str) -> None:
        self.server.fake.flag(rec, reason)
        self._send_unexpected(rec)

    def _send_unexpected(self, rec: RecordedRequest) -> None:
        message = f"fake server: unexpected request {rec.method} {rec.path}: {rec.unexpected}"
        body = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
        self.send_json(400, body, {"x-should-retry": "false"})

    def drop_connection(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_bytes(status, data, "application/json", headers)

    def send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", new_id("req_"))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, message: dict[str, Any], stream_delay: float) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", new_id("req_"))
        self.end_headers()
        for n, (name, data) in enumerate(message_events(message)):
            if n and stream_delay > 0:
                time.sleep(stream_delay)
            chunk = encode_event(name, data)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")
