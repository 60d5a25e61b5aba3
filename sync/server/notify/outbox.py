"""Stored notifications: enqueue one, claim the due ones, record how an attempt went.

Several server processes (and ``python -m sync.server notify``) may deliver from one
PostgreSQL database at once. A round *claims* due rows in a short transaction —
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two processes never take the
same row, and a plain select under SQLite's ``BEGIN IMMEDIATE`` (one writer: one
delivering process) — and moves their ``next_attempt_at`` a lease ahead, counting
the attempt. It sends outside any transaction (a slow gateway holds no lock), then
records the outcome. A process killed mid-send leaves the row pending: it is sent
again when the lease runs out (at least once; the gateway gets the notification's
id to drop a duplicate).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sync.server.content import now as utc_now
from sync.server.notify.adapters import Message
from sync.server.notify.models import Notification

NOTIFICATIONS = Notification.__table__
LEASE = timedelta(minutes=2)  # longer than one send may take (the HTTP timeout)
PENDING, SENT, FAILED = "pending", "sent", "failed"


def enqueue(conn: Connection, *, dedupe: str, kind: str, phone: str | None, text: str,
            case_id: str | None = None, community: str | None = None, data: dict[str, Any] | None = None,
            created_by: str | None = None, when: datetime | None = None) -> int | None:
    """Store a notification to send; the id, or None when ``dedupe`` was stored before.
    Without a phone number it is stored as failed, saying so, for the console to show."""
    when = when or utc_now()
    phone = (phone or "").strip()
    row = {"dedupe": dedupe, "kind": kind, "case_id": case_id, "community": community, "phone": phone,
           "text": text, "data": data or {}, "attempts": 0, "next_attempt_at": when, "created_at": when,
           "sent_at": None, "created_by": created_by,
           "state": PENDING if phone else FAILED,
           "last_error": None if phone else "no phone number for this resident: add one to the household record "
                                            "(一户一档) and contact the resident again"}
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(NOTIFICATIONS)
    return conn.execute(insert.values(**row).on_conflict_do_nothing(index_elements=["dedupe"])
                        .returning(NOTIFICATIONS.c.id)).scalar_one_or_none()


@dataclass(frozen=True)
class Claimed:
    message: Message
    attempts: int  # including this one


def claim(engine: Engine, limit: int = 20, when: datetime | None = None, lease: timedelta = LEASE) -> list[Claimed]:
    """Take up to ``limit`` due notifications for this process, for ``lease``."""
    when = when or utc_now()
    n = NOTIFICATIONS.c
    query = (select(n.id, n.phone, n.text, n.kind, n.case_id, n.attempts)
             .where(n.state == PENDING, n.next_attempt_at <= when).order_by(n.next_attempt_at, n.id).limit(limit))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = conn.execute(query).all()
        if not rows:
            return []
        conn.execute(update(NOTIFICATIONS).where(n.id.in_([r.id for r in rows]))
                     .values(next_attempt_at=when + lease, attempts=n.attempts + 1))
    return [Claimed(Message(r.id, r.phone, r.text, r.kind, r.case_id), r.attempts + 1) for r in rows]


def record_sent(engine: Engine, notification_id: int, when: datetime | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(update(NOTIFICATIONS).where(NOTIFICATIONS.c.id == notification_id)
                     .values(state=SENT, sent_at=when or utc_now(), last_error=None))


def record_failure(engine: Engine, notification_id: int, error: str, *, give_up: bool, retry_at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(NOTIFICATIONS).where(NOTIFICATIONS.c.id == notification_id)
                     .values(state=FAILED if give_up else PENDING, last_error=error[:1000],
                             next_attempt_at=retry_at))


def for_case(conn: Connection, case_id: str) -> list[Any]:
    n = NOTIFICATIONS.c
    return conn.execute(select(NOTIFICATIONS).where(n.case_id == case_id).order_by(n.id)).all()


def counts(conn: Connection) -> dict[str, int]:
    from sqlalchemy import func
    n = NOTIFICATIONS.c
    return {state: count for state, count in conn.execute(select(n.state, func.count()).group_by(n.state))}
