"""Who is asking: every request but enrolment is signed by an enrolled device.

See :mod:`sync.wire` for the headers and the signed text. A request is refused with
401 when a header is missing, the timestamp is more than ``MAX_SKEW_S`` off, the
signature does not verify against the device's registered key, or the nonce was
seen before (a replay); with 403 when the device is revoked. The device row and the
nonces are read from the database on every request: a revocation made through one
server process is seen by all of them at once.
"""
from __future__ import annotations

import base64
import binascii
import random
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import HTTPException, Request
from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from sync.server.ingest import Device
from sync.server.models import Device as DeviceRow, RequestNonce
from sync.wire import (HEADER_DEVICE, HEADER_NONCE, HEADER_SERVER_TIME, HEADER_SIGNATURE, HEADER_TIMESTAMP,
                       MAX_SKEW_S, canonical_request)

NONCES = RequestNonce.__table__
DEVICES = DeviceRow.__table__
PRUNE_ONE_IN = 200  # requests; nonces older than twice the skew window can go


def _refuse(status: int, detail: str) -> HTTPException:
    return HTTPException(status, detail, headers={"WWW-Authenticate": "Signature"} if status == 401 else None)


@dataclass(frozen=True)
class Signature:
    """A request's signature headers, checked for form and clock (no database yet)."""

    method: str
    path: str
    device_id: str
    stamp_ms: int
    nonce: str
    raw: bytes
    body: bytes
    now_ms: int


def signature_of(method: str, path: str, headers, body: bytes, now_ms: int | None = None) -> Signature:
    """The checks that need no database: every header there, well formed, the clock near."""
    device_id = headers.get(HEADER_DEVICE)
    stamp, nonce, signature = (headers.get(HEADER_TIMESTAMP), headers.get(HEADER_NONCE),
                               headers.get(HEADER_SIGNATURE))
    if not (device_id and stamp and nonce and signature):
        raise _refuse(401, f"unsigned request: send {HEADER_DEVICE}, {HEADER_TIMESTAMP}, {HEADER_NONCE} "
                           f"and {HEADER_SIGNATURE}")
    if len(nonce) > 64:
        raise _refuse(401, "nonce longer than 64 characters")
    try:
        stamp_ms = int(stamp)
        raw_signature = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        raise _refuse(401, "malformed timestamp or signature") from None
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now_ms - stamp_ms) > MAX_SKEW_S * 1000:
        refused = _refuse(401, f"timestamp {(stamp_ms - now_ms) / 1000:+.0f} s off the server's clock "
                               f"(at most {MAX_SKEW_S} s): set the appliance's clock (NTP)")
        refused.headers = {**(refused.headers or {}), HEADER_SERVER_TIME: str(now_ms)}
        raise refused
    return Signature(method, path, device_id, stamp_ms, nonce, raw_signature, body, now_ms)


def verify(conn: Connection, signed: Signature, *, durable: bool = False) -> Device:
    """The device's key, its revocation and the nonce, in the caller's transaction: an
    endpoint that verifies in its own transaction spends one transaction, not two.

    ``durable`` False: the transaction commits without waiting for its fsync on
    PostgreSQL. Pass True when the caller's writes in it must survive a database crash
    once answered. A crash could otherwise forget the last nonces, reopening a replay
    window of at most MAX_SKEW_S for requests captured just before it."""
    device_id = signed.device_id
    query = select(DEVICES.c.community, DEVICES.c.public_key, DEVICES.c.revoked_at)
    if conn.dialect.name == "postgresql" and not durable:
        # SET LOCAL synchronous_commit TO OFF, in the same round trip as the lookup
        query = query.add_columns(func.set_config("synchronous_commit", "off", True))
    row = conn.execute(query.where(DEVICES.c.device_id == device_id)).first()
    if row is None:
        raise _refuse(401, f"unknown device {device_id}: enrol it first")
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(row.public_key))
        key.verify(signed.raw, canonical_request(signed.method, signed.path, signed.stamp_ms, signed.nonce,
                                                 signed.body))
    except (InvalidSignature, ValueError):
        raise _refuse(401, f"bad signature for device {device_id}") from None
    if row.revoked_at is not None:
        raise _refuse(403, f"device {device_id} is revoked")
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(NONCES)
    fresh = conn.execute(insert.values(device_id=device_id, nonce=signed.nonce, seen_ms=signed.stamp_ms)
                         .on_conflict_do_nothing().returning(NONCES.c.nonce)).first()
    if fresh is None:
        raise _refuse(401, "replayed request (nonce already used)")
    if random.randrange(PRUNE_ONE_IN) == 0:
        conn.execute(delete(NONCES).where(NONCES.c.seen_ms < signed.now_ms - 2 * MAX_SKEW_S * 1000))
    return Device(device_id, row.community)


def authenticate(engine: Engine, method: str, path: str, headers, body: bytes,
                 now_ms: int | None = None) -> Device:
    """The device asking, checked in a transaction of its own (committed, nonce and all)."""
    signed = signature_of(method, path, headers, body, now_ms)
    with engine.begin() as conn:
        return verify(conn, signed)


async def body_of(request: Request) -> bytes:
    return await request.body()


def path_of(request: Request) -> str:
    """The path as the device sent (and signed) it: the raw bytes of the request line,
    not starlette's percent-decoded ``url.path`` (``/a%20b`` must not become ``/a b``)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else request.url.path
    query = request.url.query
    return path + (f"?{query}" if query else "")
