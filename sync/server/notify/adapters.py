"""The Notifier interface and its adapters.

A :class:`Notifier` hands one :class:`Message` to whatever reaches the resident's
phone and returns, or raises :class:`DeliveryFailed` saying why; it never retries
itself (the delivery loop does, with backoff: :mod:`sync.server.notify.delivery`).

- :class:`HttpGateway` speaks to a generic SMS gateway over HTTP: URL, method,
  headers and a body template from the settings. Any 2xx answer is delivered.
- :class:`LogNotifier` writes the message to the server's log and, given a file, one
  JSON line per message to it: demo, tests, and a phone-less installation.
"""
from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from string import Template
from typing import Protocol

import requests

from sync.server.notify.errors import DeliveryFailed
from sync.server.notify.settings import NotifySettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    id: int  # the notification's id: a gateway may use it to drop a duplicate
    phone: str
    text: str
    kind: str = ""
    case_id: str | None = None


class Notifier(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Hand ``message`` over, or raise DeliveryFailed."""


def masked_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "*" * len(phone)


class HttpGateway:
    name = "http"

    def __init__(self, url: str, method: str = "POST", headers: dict[str, str] | None = None,
                 body: str = "", timeout_s: float = 10.0, session: requests.Session | None = None) -> None:
        self.url, self.method, self.headers = url, method.upper(), dict(headers or {})
        self.body, self.timeout_s = Template(body), timeout_s
        self.session = session or requests.Session()
        content_type = next((v for k, v in self.headers.items() if k.lower() == "content-type"), "").lower()
        self._escape = (_json_escape if "json" in content_type
                        else urllib.parse.quote_plus if "form-urlencoded" in content_type else str)

    @classmethod
    def from_settings(cls, settings: NotifySettings) -> HttpGateway:
        return cls(settings.http_url, settings.http_method, settings.http_headers, settings.http_body,
                   settings.http_timeout_s)

    def request_for(self, message: Message) -> tuple[str, bytes | None]:
        """The URL and body this message is sent with (a test looks at them)."""
        values = {"phone": message.phone, "text": message.text, "id": str(message.id)}
        url = Template(self.url).safe_substitute({k: urllib.parse.quote(v, safe="") for k, v in values.items()})
        if self.method == "GET":
            return url, None
        body = self.body.safe_substitute({k: self._escape(v) for k, v in values.items()})
        return url, body.encode("utf-8")

    def send(self, message: Message) -> None:
        url, body = self.request_for(message)
        where = urllib.parse.urlsplit(self.url).netloc
        try:
            answer = self.session.request(self.method, url, data=body, headers=self.headers,
                                          timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise DeliveryFailed(f"SMS gateway {where} unreachable: {type(exc).__name__}") from exc
        if not 200 <= answer.status_code < 300:
            said = " ".join(answer.text.split())[:200]
            raise DeliveryFailed(f"SMS gateway {where} answered {answer.status_code}" + (f": {said}" if said else ""))


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


class LogNotifier:
    """The message in the server log (phone masked) and, with ``path``, the whole
    message as one JSON line in that file (mode 0600: it holds phone numbers and codes)."""

    name = "log"

    def __init__(self, path: str | Path = "") -> None:
        self.path = Path(path) if path else None
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        log.info("notification %s to %s: %s", message.id, masked_phone(message.phone), message.text)
        if self.path is None:
            return
        line = json.dumps({"id": message.id, "phone": message.phone, "text": message.text, "kind": message.kind,
                           "case": message.case_id, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
                          ensure_ascii=False)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                new = not self.path.exists()
                with open(self.path, "a", encoding="utf-8") as file:
                    if new:
                        self.path.chmod(0o600)
                    file.write(line + "\n")
        except OSError as exc:
            raise DeliveryFailed(f"cannot write {self.path}: {exc.strerror}") from exc


def notifier_for(settings: NotifySettings) -> Notifier:
    return HttpGateway.from_settings(settings) if settings.adapter == "http" else LogNotifier(settings.log_file)
