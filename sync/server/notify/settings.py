"""How notifications are sent, from the server's environment — the server is
configured like its database (``SYNC_DATABASE_URL``) and key id (``SYNC_SERVER_KEY_ID``):
by environment variables, documented in README ("Notifications").

=============================  ===========================================================
``SYNC_NOTIFY_ADAPTER``        ``log`` (default: the message goes to the server's log and,
                               with ``SYNC_NOTIFY_LOG_FILE``, one JSON line to that file)
                               or ``http`` (a generic SMS gateway)
``SYNC_NOTIFY_LOG_FILE``       the log adapter's file ("" = the server's log only)
``SYNC_NOTIFY_HTTP_URL``       the gateway's URL; ``$phone``, ``$text``, ``$id`` are
                               substituted (URL-encoded)
``SYNC_NOTIFY_HTTP_METHOD``    ``POST`` (default), ``PUT`` or ``GET``
``SYNC_NOTIFY_HTTP_HEADERS``   a JSON object of headers (an API key goes here)
``SYNC_NOTIFY_HTTP_BODY``      the body template, ``$phone`` ``$text`` ``$id`` substituted,
                               JSON-escaped when Content-Type says json, URL-encoded when
                               it says form-urlencoded
``SYNC_NOTIFY_HTTP_TIMEOUT_S`` seconds one request may take (10)
``SYNC_NOTIFY_LOOP``           ``1`` (default): each server process runs the delivery loop;
                               ``0``: only ``python -m sync.server notify`` delivers
``SYNC_NOTIFY_INTERVAL_S``     seconds between rounds of the loop (5)
``SYNC_NOTIFY_MAX_ATTEMPTS``   attempts before a notification is ``failed`` (8)
``SYNC_NOTIFY_BACKOFF_S``      the wait after the first failed attempt (30); doubles after
                               each, at most one hour
``SYNC_PUBLIC_URL``            the server as residents' phones reach it (rating links)
``SYNC_RATING_DAYS``           how long a rating link works (14 days)
=============================  ===========================================================
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from sync.server.notify.errors import NotifyConfigError

DEFAULT_BODY = '{"phone": "$phone", "text": "$text", "id": "$id"}'
MAX_BACKOFF_S = 3600.0


@dataclass(frozen=True)
class NotifySettings:
    adapter: str = "log"
    log_file: str = ""
    http_url: str = ""
    http_method: str = "POST"
    http_headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    http_body: str = DEFAULT_BODY
    http_timeout_s: float = 10.0
    loop: bool = True
    interval_s: float = 5.0
    max_attempts: int = 8
    backoff_s: float = 30.0
    public_url: str = "http://127.0.0.1:8000"
    rating_days: int = 14

    def backoff(self, attempts: int) -> float:
        """The wait after ``attempts`` failed attempts: backoff_s, doubling, at most an hour."""
        return min(MAX_BACKOFF_S, self.backoff_s * 2 ** max(0, attempts - 1))


def _number(env: Mapping[str, str], name: str, default: float, low: float, kind=float):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise NotifyConfigError(name, f"{raw!r} is not a {'whole ' if kind is int else ''}number") from None
    if value < low:
        raise NotifyConfigError(name, f"{raw} is below {low:g}")
    return value


def from_env(env: Mapping[str, str] | None = None) -> NotifySettings:
    """The settings from ``env`` (default ``os.environ``); a wrong value raises
    :class:`NotifyConfigError` naming the variable."""
    env = os.environ if env is None else env
    adapter = env.get("SYNC_NOTIFY_ADAPTER", "log").strip() or "log"
    if adapter not in ("log", "http"):
        raise NotifyConfigError("SYNC_NOTIFY_ADAPTER", f"{adapter!r}: one of log, http")
    url = env.get("SYNC_NOTIFY_HTTP_URL", "").strip()
    if adapter == "http" and not url.startswith(("http://", "https://")):
        raise NotifyConfigError("SYNC_NOTIFY_HTTP_URL", "the http adapter needs the gateway's http:// or https:// URL")
    method = env.get("SYNC_NOTIFY_HTTP_METHOD", "POST").strip().upper() or "POST"
    if method not in ("POST", "PUT", "GET"):
        raise NotifyConfigError("SYNC_NOTIFY_HTTP_METHOD", f"{method!r}: one of POST, PUT, GET")
    headers = {"Content-Type": "application/json"}
    raw_headers = env.get("SYNC_NOTIFY_HTTP_HEADERS", "").strip()
    if raw_headers:
        try:
            parsed = json.loads(raw_headers)
        except json.JSONDecodeError as exc:
            raise NotifyConfigError("SYNC_NOTIFY_HTTP_HEADERS", f"not JSON ({exc.msg})") from None
        if not isinstance(parsed, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in parsed.items()):
            raise NotifyConfigError("SYNC_NOTIFY_HTTP_HEADERS", 'expected a JSON object of strings, '
                                                                '{"Authorization": "Bearer …"}')
        headers = parsed
    loop = env.get("SYNC_NOTIFY_LOOP", "1").strip().lower()
    if loop not in ("1", "0", "true", "false", "yes", "no", "on", "off", ""):
        raise NotifyConfigError("SYNC_NOTIFY_LOOP", f"{loop!r}: 1 or 0")
    public_url = env.get("SYNC_PUBLIC_URL", "").strip().rstrip("/") or NotifySettings.public_url
    if not public_url.startswith(("http://", "https://")):
        raise NotifyConfigError("SYNC_PUBLIC_URL", "the server's address as phones reach it, https://…")
    return NotifySettings(
        adapter=adapter, log_file=env.get("SYNC_NOTIFY_LOG_FILE", "").strip(), http_url=url, http_method=method,
        http_headers=headers, http_body=env.get("SYNC_NOTIFY_HTTP_BODY", DEFAULT_BODY) or DEFAULT_BODY,
        http_timeout_s=_number(env, "SYNC_NOTIFY_HTTP_TIMEOUT_S", 10.0, 0.1),
        loop=loop in ("1", "true", "yes", "on", ""),
        interval_s=_number(env, "SYNC_NOTIFY_INTERVAL_S", 5.0, 0.05),
        max_attempts=_number(env, "SYNC_NOTIFY_MAX_ATTEMPTS", 8, 1, int),
        backoff_s=_number(env, "SYNC_NOTIFY_BACKOFF_S", 30.0, 0.0),
        public_url=public_url, rating_days=_number(env, "SYNC_RATING_DAYS", 14, 1, int))
