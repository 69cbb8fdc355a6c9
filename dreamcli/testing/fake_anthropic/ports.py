"""The seams between the fake server's parts, so that none of them imports another in a circle.

`Backend` is what the HTTP handler and the batch store use of the server (`server.FakeAnthropic`);
`Answer` is what a Message Batches endpoint uses of the HTTP side of its request
(`http_handler.Handler`); `BatchRoutes` is the batch store as the handler routes to it.
"""

from __future__ import annotations

from typing import Any, Protocol

from dreamcli.testing.fake_anthropic.recorded import RecordedRequest
from dreamcli.testing.fake_anthropic.replies import Reply


class Answer(Protocol):
    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None: ...

    def send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None: ...

    def unexpected(self, rec: RecordedRequest, reason: str) -> None: ...


class BatchRoutes(Protocol):
    def handle(self, handler: Answer, rec: RecordedRequest) -> None: ...


class Backend(Protocol):
    @property
    def latency(self) -> float: ...

    @property
    def fast_retries(self) -> bool: ...

    @property
    def models(self) -> list[str] | None: ...

    @property
    def batch_polls_before_end(self) -> int: ...

    @property
    def batches(self) -> BatchRoutes: ...

    @property
    def managed(self) -> BatchRoutes: ...  # the Managed Agents endpoints route the same way

    @property
    def url(self) -> str: ...

    def record(self, rec: RecordedRequest, *, message: bool) -> None: ...

    def record_count_tokens(self, rec: RecordedRequest) -> None: ...

    def flag(self, rec: RecordedRequest, reason: str) -> None: ...

    def resolve(self, rec: RecordedRequest) -> Reply | None: ...
