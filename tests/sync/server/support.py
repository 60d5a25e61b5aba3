"""Helpers for the server and agent tests: databases, signed requests, servers as processes."""
from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import requests

from appliance.keys import DeviceKey, encode_public_key
from appliance.processes import Child
from sync.server import db, migrations
from sync.server.devices import create_code
from sync.wire import (API, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
                       canonical_request)
from tests.support import require

PG_ADMIN = "postgresql://root@127.0.0.1:5432/postgres"
COMMUNITY = "示范社区"


def postgresql_reason() -> str:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return ""
    except psycopg.Error as exc:
        return f"{PG_ADMIN}: {exc}".splitlines()[0]


@contextmanager
def postgresql_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped afterwards; yields its URL."""
    reason = postgresql_reason()
    require("postgresql", not reason, reason + " (start it: pg_ctlcluster --skip-systemctl-redirect "
                                               "$(ls /etc/postgresql) main start)")
    name = f"kiosk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://root@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_code(url: str, device_id: str, community: str = COMMUNITY) -> str:
    engine = db.create(url)
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            return create_code(conn, community, device_id)
    finally:
        engine.dispose()


def new_key(device_id: str | None = None) -> DeviceKey:
    return DeviceKey.generate(device_id or f"dev-{uuid.uuid4().hex[:10]}")


def signature_headers(key: DeviceKey, method: str, path: str, body: bytes, *,
                      stamp_ms: int | None = None, nonce: str | None = None) -> dict[str, str]:
    stamp_ms = int(time.time() * 1000) if stamp_ms is None else stamp_ms
    nonce = nonce or secrets.token_urlsafe(12)
    signature = key.sign(canonical_request(method, path, stamp_ms, nonce, body))
    return {HEADER_DEVICE: key.device_id, HEADER_TIMESTAMP: str(stamp_ms), HEADER_NONCE: nonce,
            HEADER_SIGNATURE: base64.b64encode(signature).decode(), "Content-Type": "application/json"}


class Signed:
    """Signed calls through any client with ``.request(method, url, content=, headers=)``
    (starlette's TestClient, an httpx.Client) or through requests (``base_url``)."""

    def __init__(self, client, key: DeviceKey, base_url: str = "") -> None:
        self.client, self.key, self.base_url = client, key, base_url

    def __call__(self, method: str, path: str, body: object = None, **sign):
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        full = f"{API}{path}"
        headers = signature_headers(self.key, method, full, data, **sign)
        if self.base_url:
            return self.client.request(method, self.base_url + full, data=data or None, headers=headers, timeout=30)
        return self.client.request(method, full, content=data or None, headers=headers)

    def enrol(self, code: str):
        body = {"code": code, "device_id": self.key.device_id, "public_key": encode_public_key(self.key.public_key)}
        if self.base_url:
            return self.client.post(f"{self.base_url}{API}/enrol", json=body, timeout=30)
        return self.client.post(f"{API}/enrol", json=body)


def event(case_id: str, event_type: str, seq: int, *, aggregate_type: str = "case", event_id: str | None = None,
          payload: dict | None = None) -> dict:
    return {"id": event_id or str(uuid.uuid4()), "seq": seq, "aggregate_type": aggregate_type,
            "aggregate_id": case_id, "event_type": event_type, "payload": payload or {},
            "created_at": "2026-11-22T04:00:00.000+00:00"}


class ServerProcess(Child):
    """``python -m sync.server --port 0 --database URL`` as a process; ``url`` once started."""

    def __init__(self, database_url: str, port: int = 0, env: dict | None = None) -> None:
        super().__init__("sync.server", "--port", str(port), "--database", database_url, "--log-level", "WARNING",
                         header_lines=1, env=env)

    @property
    def url(self) -> str:
        return self.header[0].split()[-1]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def start(self, timeout: float = 30.0) -> ServerProcess:
        super().start(timeout)
        deadline = time.monotonic() + timeout
        while True:  # bound before uvicorn's loop serves: wait for the first answer
            try:
                requests.get(f"{self.url}{API}/health", timeout=5).raise_for_status()
                return self
            except requests.RequestException:
                if time.monotonic() > deadline or not self.running:
                    self.stop()
                    raise
                time.sleep(0.05)
