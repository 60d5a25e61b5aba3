"""Content records and the change feed appliances pull.

Every write of a record (household, subsidy record, service guide item, certificate
template, worker key, revocation, config entry; device keys on enrolment and
revocation) updates the record's table and appends one row to ``changes`` in the
same transaction. Appliances pull ``changes`` after a cursor (the last ``seq`` they
saw): a household record only reaches appliances of its own community.

The feed must never let a puller skip a row: on PostgreSQL a transaction that writes
changes first takes an advisory lock, so ``seq`` order is commit order (a sequence
alone hands out numbers in start order, and a later number could commit first and be
passed by a cursor before the earlier one is visible). Writes here are rare (admins,
enrolments), so serialising them costs nothing. SQLite's BEGIN IMMEDIATE does the same.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, delete, or_, select, text

from sync.server.models import ChangeRow, RECORD_TABLES
from sync.wire import Change, PullResponse

FEED_LOCK = 0x6B696F736C  # pg_advisory_xact_lock key for appends to changes


def now() -> datetime:
    return datetime.now(timezone.utc)


def append_change(conn: Connection, kind: str, key: str, data: dict[str, Any] | None,
                  community: str | None) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FEED_LOCK})
    conn.execute(ChangeRow.__table__.insert().values(kind=kind, key=key, data=data, community=community,
                                                     changed_at=now()))


def put(conn: Connection, kind: str, key: str, data: dict[str, Any], community: str | None = None) -> None:
    """Create or replace a record and publish it. ``community`` None: every appliance gets it."""
    table = RECORD_TABLES[kind].__table__
    row = {"key": key, "community": community, "data": data, "updated_at": now()}
    if conn.execute(table.update().where(table.c.key == key).values(**row)).rowcount == 0:
        conn.execute(table.insert().values(**row))
    append_change(conn, kind, key, data, community)


def remove(conn: Connection, kind: str, key: str) -> bool:
    """Delete a record and publish the deletion; False when there was none."""
    table = RECORD_TABLES[kind].__table__
    community = conn.execute(select(table.c.community).where(table.c.key == key)).scalar_one_or_none()
    if conn.execute(delete(table).where(table.c.key == key)).rowcount == 0:
        return False
    append_change(conn, kind, key, None, community)
    return True


def pull(conn: Connection, community: str, cursor: int, limit: int) -> PullResponse:
    c = ChangeRow.__table__.c
    rows = conn.execute(select(c.seq, c.kind, c.key, c.data, c.changed_at)
                        .where(c.seq > cursor, or_(c.community.is_(None), c.community == community))
                        .order_by(c.seq).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [Change(seq=r.seq, kind=r.kind, key=r.key, data=r.data, changed_at=aware(r.changed_at))
               for r in rows]
    return PullResponse(cursor=rows[-1].seq if rows else cursor, changes=changes, more=more)


def aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything here is written in UTC
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
