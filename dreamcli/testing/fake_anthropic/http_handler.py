"""The HTTP side of the fake Anthropic server: routing, JSON / SSE writing, dropped connections."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dreamcli.testing.fake_anthropic.catalog import model_list
from dreamcli.testing.fake_anthropic.managed_agents import handles as is_managed_agents_path
from dreamcli.testing.fake_anthropic.ports import Backend
from dreamcli.testing.fake_anthropic.recorded import RecordedRequest, parse_body
from dreamcli.testing.fake_anthropic.replies import Reply, estimate_tokens, message_json, new_id
from dreamcli.testing.fake_anthropic.sse import encode_event, message_events


class FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], fake: Backend) -> None:
        self.fake = fake
        self.open_connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, Handler)

    def close_all_connections(self) -> None:
        """Shut down kept-alive and in-flight connections so their threads end."""
        with self.conn_lock:
            conns = list(self.open_connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client went away or the server is stopping; real errors are flagged in Handler


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeHTTPServer
    timeout = 120  # idle keep-alive connections end eventually

    def setup(self) -> None:
        super().setup()
        # no Nagle: headers, body and each SSE chunk go out at once (else ~40 ms delayed-ACK stalls)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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

    # -- routing ---------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
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
            is_message = self.command == "POST" and path == "/v1/messages"
            fake.record(rec, message=is_message)
            if is_message:
                self._messages(rec)
            elif self.command == "POST" and path == "/v1/messages/count_tokens":
                fake.record_count_tokens(rec)
                self.send_json(200, {"input_tokens": estimate_tokens(raw.decode("utf-8", "replace"))})
            elif path.startswith("/v1/messages/batches"):
                fake.batches.handle(self, rec)
            elif is_managed_agents_path(path):
                fake.managed.handle(self, rec)
            elif self.command == "GET" and (path == "/v1/models" or path.startswith("/v1/models/")):
                self._models(path)
            else:
                self.unexpected(rec, "no such endpoint in the fake server")
        except OSError:  # the client went away (or the server is stopping)
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
            headers = reply.response_headers()
            self.send_json(reply.status, reply.error_body(), self._retry_headers(reply.status, headers))
        elif reply.stream_error is not None and not rec.stream:
            status = 529 if reply.stream_error.get("type") == "overloaded_error" else 500
            error = {"type": "error", "error": reply.stream_error}
            self.send_json(status, error, self._retry_headers(status, {}))
        elif rec.stream:
            self._send_stream(message_json(reply, rec.body), reply)
        else:
            self.send_json(200, message_json(reply, rec.body))

    def _retry_headers(self, status: int, headers: dict[str, str]) -> dict[str, str]:
        """With server.fast_retries, a retryable error without retry-after asks the client to retry
        after 1 ms instead of its exponential backoff (0.5 s, 1 s, 2 s, ...), to keep tests fast."""
        retryable = status in (408, 409, 429) or status >= 500
        lowered = {k.lower() for k in headers}
        if self.server.fake.fast_retries and retryable and not lowered & {"retry-after", "retry-after-ms"}:
            return {**headers, "retry-after-ms": "1"}
        return headers

    def _models(self, path: str) -> None:
        models = model_list(self.server.fake.models)
        if path == "/v1/models":
            first = models[0]["id"] if models else None
            last = models[-1]["id"] if models else None
            self.send_json(200, {"data": models, "has_more": False, "first_id": first, "last_id": last})
            return
        wanted = path[len("/v1/models/") :]
        for model in models:
            if model["id"] == wanted:
                self.send_json(200, model)
                return
        error = {"type": "not_found_error", "message": f"model: {wanted}"}
        self.send_json(404, {"type": "error", "error": error})

    # -- answers ---------------------------------------------------------------------------------

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
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", new_id("req_"))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, message: dict[str, Any], reply: Reply) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", new_id("req_"))
        self.end_headers()
        events = list(message_events(message))
        if reply.stream_error is not None:
            # cut the stream before the open block closes, then report the error as the API does
            cut = next(i for i, (name, _) in enumerate(events) if name in ("content_block_stop", "message_delta"))
            events = [*events[:cut], ("error", {"type": "error", "error": reply.stream_error})]
        for n, (name, data) in enumerate(events):
            if n and reply.stream_delay > 0:
                time.sleep(reply.stream_delay)
            chunk = encode_event(name, data)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")
