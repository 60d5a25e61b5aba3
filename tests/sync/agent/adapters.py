"""requests transport adapters for the agent's tests: the app in-process, and a
failing wrapper that makes requests fail at random, deterministically (seeded)."""
from __future__ import annotations

import random
import threading

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict


class ASGIAdapter(BaseAdapter):
    """Sends requests to an app through starlette's TestClient (no sockets)."""

    def __init__(self, client) -> None:
        super().__init__()
        self.client = client
        self.calls: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        self.calls.append(f"{request.method} {request.path_url}")
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = self.client.request(request.method, request.path_url, content=body,
                                     headers=dict(request.headers))
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.content
        response._content_consumed = True
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


class FailingAdapter(BaseAdapter):
    """Wraps another adapter; a share ``rate`` of requests fail, split between:

    - ``refused``: never sent (ConnectionError), as when the server is down;
    - ``lost``: sent and applied, the answer lost (ReadTimeout), so the agent sends
      the same batch again;
    - ``5xx``: never sent, a 503 from a proxy in front.
    """

    MODES = ("refused", "lost", "5xx")

    def __init__(self, inner: BaseAdapter | None = None, rate: float = 0.3, seed: int = 5) -> None:
        super().__init__()
        self.inner = inner or HTTPAdapter()
        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.failed = {mode: 0 for mode in self.MODES}
        self.sent = 0
        self.down = False  # everything refused, as when offline

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        with self.lock:
            mode = self.rng.choice(self.MODES) if self.rng.random() < self.rate else None
            if self.down:
                mode = "refused"
            if mode:
                self.failed[mode] += 1
        if mode == "refused":
            raise requests.ConnectionError("injected: connection refused", request=request)
        if mode == "5xx":
            response = requests.Response()
            response.status_code, response._content, response.request = 503, b"bad gateway", request
            return response
        response = self.inner.send(request, **kwargs)
        self.sent += 1
        if mode == "lost":
            response.close()
            raise requests.ReadTimeout("injected: the answer was lost", request=request)
        return response

    def close(self) -> None:
        self.inner.close()
