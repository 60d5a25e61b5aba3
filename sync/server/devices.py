"""Devices: one-time enrolment codes, enrolment with an Ed25519 public key, revocation,
heartbeats. An enrolment code is stored only as its SHA-256, is bound to one device
id and community, expires, and works once."""
from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update

from appliance.keys import fingerprint
from sync.server import heartbeats
from sync.server.content import append_change, aware, now
from sync.server.keys import is_server_key_id
from sync.server.models import Device, EnrolmentCode
from sync.wire import EnrolRequest, EnrolResponse, Heartbeat

CODE_TTL = timedelta(days=7)


class EnrolmentRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status, self.detail = status, detail
        super().__init__(detail)


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def create_code(conn: Connection, community: str, device_id: str, ttl: timedelta = CODE_TTL) -> str:
    """A new one-time code for ``device_id`` in ``community``; only its hash is kept."""
    code = secrets.token_urlsafe(15)  # 20 characters, 120 bits
    conn.execute(EnrolmentCode.__table__.insert().values(
        code_hash=_hash(code), community=community, device_id=device_id, created_at=now(),
        expires_at=now() + ttl, used_at=None))
    return code


def enrol(conn: Connection, request: EnrolRequest) -> EnrolResponse:
    try:
        raw = base64.b64decode(request.public_key, validate=True)
    except ValueError:
        raise EnrolmentRefused(422, "public_key is not base64") from None
    if len(raw) != 32:
        raise EnrolmentRefused(422, f"public_key is {len(raw)} bytes; an Ed25519 key is 32")
    codes = EnrolmentCode.__table__
    row = conn.execute(select(codes).where(codes.c.code_hash == _hash(request.code))).first()
    # One message for every bad code: a guesser learns nothing from the difference.
    if (row is None or row.device_id != request.device_id or row.used_at is not None
            or aware(row.expires_at) < now()):
        raise EnrolmentRefused(403, "enrolment code not valid for this device (unknown, used, expired or "
                                    "made for another device id): ask the admin for a new one")
    used = conn.execute(update(codes).where(codes.c.code_hash == row.code_hash, codes.c.used_at.is_(None))
                        .values(used_at=now())).rowcount
    if not used:
        raise EnrolmentRefused(403, "enrolment code already used")
    if is_server_key_id(conn, request.device_id):
        raise EnrolmentRefused(403, f"{request.device_id} is the server's key id; enrol under another device id")
    devices = Device.__table__
    existing = conn.execute(select(devices).where(devices.c.device_id == request.device_id)).first()
    if existing is not None and existing.revoked_at is not None:
        raise EnrolmentRefused(403, f"device {request.device_id} is revoked; enrol it under a new device id")
    values = {"community": row.community, "public_key": request.public_key, "enrolled_at": now()}
    if existing is None:
        conn.execute(devices.insert().values(device_id=request.device_id, revoked_at=None, **values))
    else:  # re-enrolment with a new key (a replaced disk): the admin issued a new code
        conn.execute(update(devices).where(devices.c.device_id == request.device_id).values(**values))
    append_change(conn, "device_key", request.device_id,
                  {"public_key": request.public_key, "revoked": False, "community": row.community}, None)
    return EnrolResponse(device_id=request.device_id, community=row.community, fingerprint=fingerprint(raw))


def revoke(conn: Connection, device_id: str) -> bool:
    """Refuse the device from now on and publish its key as revoked; False if unknown."""
    devices = Device.__table__
    row = conn.execute(select(devices).where(devices.c.device_id == device_id)).first()
    if row is None:
        return False
    conn.execute(update(devices).where(devices.c.device_id == device_id).values(revoked_at=now()))
    append_change(conn, "device_key", device_id,
                  {"public_key": row.public_key, "revoked": True, "community": row.community}, None)
    return True


def heartbeat(conn: Connection, device_id: str, beat: Heartbeat, at: datetime | None = None) -> None:
    """Record the beat as its source's latest and the device's merged picture
    (:mod:`sync.server.heartbeats`), in the transaction that verified the device
    (sync.server.auth.verify, not durable: the last heartbeat before a database crash
    may be lost; the next comes in 30 s). One row read and one write: the read locks
    the row on PostgreSQL (FOR UPDATE), so the kiosk's and the locker's beats arriving
    together at two server processes are merged one after the other, neither lost;
    SQLite has one writer (every transaction BEGIN IMMEDIATE, sync.server.db)."""
    at = at or now()
    devices = Device.__table__
    where = devices.c.device_id == device_id
    health = conn.execute(select(devices.c.health).where(where).with_for_update()).scalar_one_or_none()
    conn.execute(update(devices).where(where).values(last_heartbeat_at=at, health=heartbeats.record(health, beat, at)))

