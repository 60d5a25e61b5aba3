"""Rate limits kept in the database, so every server process counts the same attempts.

An attempt is a row (``kind``, ``key``, ``at``); a limit is "at most N of ``kind`` for
``key`` within a window". :func:`allowed` counts, :func:`note` records. Old rows are
deleted by :func:`forget` (the purge loop calls it).

Counting and recording are two statements, so a transaction first takes
:func:`hold` on its keys: on PostgreSQL a transaction-scoped advisory lock per key
(parallel guesses at one number queue up and each sees the others' attempts); on
SQLite every transaction already begins IMMEDIATE, one writer at a time.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, select, text

from sync.server.content import now
from sync.server.phone.models import PhoneAttempt

ATTEMPTS = PhoneAttempt.__table__


@dataclass(frozen=True)
class Limit:
    kind: str  # send | wrong | booking
    count: int
    window: timedelta


@dataclass(frozen=True)
class Policy:
    """The sign-in and booking-code limits (app.state.phone_policy overrides them in tests)."""
    sends_per_phone: Limit = Limit("send", 3, timedelta(minutes=15))
    sends_per_ip: Limit = Limit("send", 20, timedelta(hours=1))
    wrong_per_phone: Limit = Limit("wrong", 5, timedelta(minutes=15))
    wrong_per_ip: Limit = Limit("wrong", 20, timedelta(minutes=15))
    booking_wrong_per_ip: Limit = Limit("booking", 5, timedelta(minutes=15))
    code_minutes: int = 5
    session_days: int = 30
    photo_days: int = 30  # how long uploaded photos are kept
    photo_max_bytes: int = 4_000_000
    photos_per_case: int = 6


def hold(conn: Connection, *keys: str) -> None:
    """Serialise this transaction's count-then-note on ``keys`` with every other
    transaction on the same keys (in any server process), until it ends."""
    if conn.dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):  # one order everywhere: no deadlock between two holders
        lock = int.from_bytes(hashlib.sha256(f"throttle:{key}".encode()).digest()[:8], "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": lock})


def used(conn: Connection, limit: Limit, key: str, at: datetime | None = None) -> int:
    at = at or now()
    return conn.execute(select(func.count()).select_from(ATTEMPTS).where(
        ATTEMPTS.c.kind == limit.kind, ATTEMPTS.c.key == key, ATTEMPTS.c.at > at - limit.window)).scalar_one()


def allowed(conn: Connection, limit: Limit, key: str, at: datetime | None = None) -> bool:
    return used(conn, limit, key, at) < limit.count


def note(conn: Connection, kind: str, *keys: str, at: datetime | None = None) -> None:
    at = at or now()
    conn.execute(ATTEMPTS.insert(), [{"kind": kind, "key": key[:80], "at": at} for key in keys])


def forget(conn: Connection, older_than: timedelta = timedelta(days=1), at: datetime | None = None) -> int:
    return conn.execute(delete(ATTEMPTS).where(ATTEMPTS.c.at < (at or now()) - older_than)).rowcount
