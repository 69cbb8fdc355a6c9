"""A stalled endpoint: a TCP server on 127.0.0.1 that accepts every connection, reads what is sent and never
answers (an API or a proxy that hangs). `requests` are the request lines received ("GET /v1/sessions"), one
per attempt a client made."""

from __future__ import annotations

import socket
import threading


class Blackhole:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.url = f"http://{self.host}"
        self.requests: list[str] = []
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            method, _, rest = data.partition(b" ")
            if method in (b"GET", b"PUT", b"POST", b"PATCH", b"HEAD", b"DELETE"):
                self.requests.append(f"{method.decode()} {rest.split(b' ', 1)[0].split(b'?', 1)[0].decode()}")

    def close(self) -> None:
        self.sock.close()
        for conn in self._conns:
            conn.close()
