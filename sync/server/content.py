"""Content records and the change feed appliances pull.

Every write of a record (household, subsidy record, service guide item, certificate
template, worker key, revocation, config entry; device keys on enrolment and
revocation) updates the record's table and appends one row to ``changes`` in the
same transaction. Every change of a case's state (an appliance's event, a console
action, the phone pages) appends a ``case`` change for the case's community
(:func:`publish_cases`): its state, its last event, the item and the next step.
Appliances pull ``changes`` after a cursor (the last ``seq`` they saw): a household
record or a case only reaches appliances of its own community.

The feed must never let a puller skip a row: on PostgreSQL a transaction that writes
changes first takes an advisory lock, so ``seq`` order is commit order (a sequence
alone hands out numbers in start order, and a later number could commit first and be
passed by a cursor before the earlier one is visible). SQLite's BEGIN IMMEDIATE does the
same. Records change rarely (admins, enrolments); cases change with every pushed batch
and console action, so the lock is taken as late as possible (:func:`publish_cases`
after the case rows are written): callers publish last, just before their commit.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, delete, or_, select, text

from sync.server.models import Case, ChangeRow, EventRow, RECORD_TABLES
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


# -- cases: their state at the server, for the appliances of their community ------------------
CASE = "case"  # the change kind (sync.wire: a case's state, its last event, what the resident is shown)
# Payload fields of a case's ``created`` events that may go to every appliance of the
# community: what the resident is shown, never who she is (no name, ID, phone, note).
CASE_FIELDS = ("kind", "item_id", "item")


def next_step(kind: str, state: str) -> str:
    """What happens next for the resident, as the kiosk's catalogue names it
    (``progress.next_<this>``): a report has its own words while created and closed."""
    if kind == "report" and state in ("created", "closed"):
        return f"report_{state}"
    return state


def publish_cases(conn: Connection, case_ids: set[str] | list[str]) -> None:
    """Append one ``case`` change per case for its community, with its state now (call
    it in the transaction that moved them: every path that changes a case's state at
    the server, the ingest of appliances' events, console actions, the phone pages)."""
    ids = sorted(set(case_ids))
    if not ids:
        return
    cases, events = Case.__table__, EventRow.__table__
    rows = conn.execute(select(cases.c.id, cases.c.community, cases.c.state, cases.c.last_event_id)
                        .where(cases.c.id.in_(ids))).all()
    if not rows:
        return
    last = {r.id: r for r in conn.execute(select(events.c.id, events.c.event_type, events.c.created_at)
                                           .where(events.c.id.in_([r.last_event_id for r in rows])))}
    shown: dict[str, dict[str, Any]] = {}
    for case_id, payload in conn.execute(
            select(events.c.aggregate_id, events.c.payload)
            .where(events.c.aggregate_type == CASE, events.c.aggregate_id.in_(ids),
                   events.c.event_type == "created", events.c.status == "applied").order_by(events.c.server_seq)):
        fields = shown.setdefault(case_id, {})
        for name in CASE_FIELDS:  # the first that says (the kiosk's or the phone's, not the locker's)
            if name not in fields and isinstance(payload, dict) and isinstance(payload.get(name), str):
                fields[name] = payload[name][:200]
    changed, changes = now(), []
    for row in rows:
        event = last.get(row.last_event_id)
        fields = shown.get(row.id, {})
        kind = fields.get("kind") or "dropoff"  # a phone application names none: its paper goes in a locker
        data = {"case": row.id, "state": row.state, "event": event.event_type if event else "",
                "event_at": event.created_at if event else "", "kind": kind,
                "item_id": fields.get("item_id", ""), "item": fields.get("item", ""),
                "next_step": next_step(kind, row.state)}
        changes.append({"kind": CASE, "key": row.id, "data": data, "community": row.community,
                        "changed_at": changed})
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FEED_LOCK})
    conn.execute(ChangeRow.__table__.insert(), changes)


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
