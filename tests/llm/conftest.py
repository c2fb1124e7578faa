"""A fake vendor server behind ``httpx2.MockTransport``, injected into the real SDKs.

The SDKs build and send real HTTP requests; the transport answers them from a queue and
keeps every request, so tests check exactly what went over the wire and what came back,
with no network. Sleeps between retries are recorded, never slept.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import httpx2
import pytest


class FakeVendor:
    def __init__(self) -> None:
        self.answers: deque[Any] = deque()
        self.requests: list[httpx2.Request] = []

    def reply(self, status: int = 200, body: Any = None, headers: dict | None = None) -> None:
        self.answers.append(("reply", status, body, headers or {}))

    def fail_connection(self) -> None:
        self.answers.append(("connect_error",))

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"Unexpected request {request.method} {request.url}")
        answer = self.answers.popleft()
        if answer[0] == "connect_error":
            raise httpx2.ConnectError("connection refused", request=request)
        _, status, body, headers = answer
        return httpx2.Response(status, json=body, headers=headers)

    def http_client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self.handler))

    def body(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index].content)


@pytest.fixture
def vendor() -> FakeVendor:
    return FakeVendor()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def no_wait(sleeps: list[float]) -> dict[str, Any]:
    """Adapter options: record sleeps instead of sleeping, no jitter."""
    from factory.llm.base import RetryPolicy

    return {
        "sleep": sleeps.append,
        "retry": RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0, jitter=0.0),
    }
