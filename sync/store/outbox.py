"""The outbox: events waiting to be pushed to the server, and sync's own migrations.

Every change of state appends an event in the SAME transaction as the change, so an
event exists exactly when its change does::

    with store.atomic() as db:
        db["cases"].update(case_id, {"state": "materials_deposited"})
        append_event(db, aggregate_type="case", aggregate_id=case_id,
                     event_type="materials_deposited", payload={"locker": "L1", "door": 7})

The sync agent takes :func:`pending` events in append order, pushes them, and after
the server acknowledges calls :func:`mark_sent` (or :func:`mark_failed`). The event's
UUID is the server's idempotency key; every call here is idempotent by it.

Payloads and error texts are stored, never logged.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from appliance.privacy import mask_text
from sync.errors import OutboxError
from sync.store.migrations import Migrations

if TYPE_CHECKING:
    from sync.store.database import Store

migrations = Migrations("sync")
MAX_ERROR_CHARS = 500  # last_error is for a person reading doctor's output, not a log


@migrations.add("0001_outbox")
def _create_outbox(db: Database) -> None:
    # seq is the append order: the order to push in. Neither rowid (VACUUM may
    # renumber a table without INTEGER PRIMARY KEY) nor created_at (the clock jumps
    # when NTP first syncs after boot) can be trusted for that.
    db.execute("""
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY,               -- the event's UUID
            seq INTEGER NOT NULL UNIQUE,       -- append order, 1, 2, 3 ...
            aggregate_type TEXT NOT NULL,      -- 'case', 'door', 'certificate' ...
            aggregate_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            payload TEXT NOT NULL CHECK (json_valid(payload)),
            created_at TEXT NOT NULL,          -- UTC, ISO 8601
            sent_at TEXT,                      -- NULL until the server acknowledged it
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        )""")
    db.execute("CREATE INDEX outbox_pending ON outbox (seq) WHERE sent_at IS NULL")


@dataclass(frozen=True)
class OutboxEvent:
    id: str
    seq: int
    aggregate_type: str
    aggregate_id: str
    event_type: str
    payload: dict[str, Any]
    created_at: str
    sent_at: str | None
    attempts: int
    last_error: str | None


_COLUMNS = "id, seq, aggregate_type, aggregate_id, event_type, payload, created_at, sent_at, attempts, last_error"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _file(db: Database) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] if row else "?"


def append_event(db: Database, *, aggregate_type: str, aggregate_id: str, event_type: str,
                 payload: Mapping[str, Any], event_id: str | None = None) -> str:
    """Append one event inside the caller's ``store.atomic()``; return its UUID.

    Appending an event whose ``event_id`` is already there with the same content is
    a no-op; with other content it is an :class:`OutboxError` (a UUID reused by mistake).
    """
    if not db.conn.in_transaction:
        raise OutboxError(_file(db), "append_event() called outside a transaction",
                          hint="call it inside the same store.atomic() as the state change "
                               "it records, so both are written or neither")
    event_id = str(uuid.UUID(event_id)) if event_id else str(uuid.uuid4())
    body = json.dumps(dict(payload), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    content = (aggregate_type, str(aggregate_id), event_type, body)
    # One writer, inside a transaction: max(seq) + 1 cannot race.
    cursor = db.execute(
        "INSERT INTO outbox (id, seq, aggregate_type, aggregate_id, event_type, payload, created_at) "
        "VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM outbox), ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING",
        [event_id, *content, _now()])
    if cursor.rowcount == 0:
        existing = db.execute("SELECT aggregate_type, aggregate_id, event_type, payload "
                              "FROM outbox WHERE id = ?", [event_id]).fetchone()
        if tuple(existing) != content:
            raise OutboxError(_file(db), f"event {event_id} is already in the outbox with other content",
                              hint="each event needs its own UUID; let append_event() make one")
    return event_id


def pending(store: Store, limit: int = 100) -> list[OutboxEvent]:
    """The oldest events not yet acknowledged, in append order."""
    with store.reader() as db:
        rows = db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE sent_at IS NULL "
                          "ORDER BY seq LIMIT ?", [limit]).fetchall()
    return [_event(row) for row in rows]


def get_event(store: Store, event_id: str) -> OutboxEvent | None:
    with store.reader() as db:
        row = db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", [event_id]).fetchone()
    return _event(row) if row else None


def mark_sent(store: Store, event_ids: Iterable[str]) -> int:
    """Mark acknowledged events sent; return how many were not already. Unknown ids are ignored."""
    ids = list(event_ids)
    marked = 0
    with store.atomic() as db:
        sent_at = _now()
        for event_id in ids:
            marked += db.execute("UPDATE outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
                                 [sent_at, event_id]).rowcount
    return marked


def mark_failed(store: Store, event_id: str, error: str) -> None:
    """Count a failed push of a pending event and keep why (masked, shortened)."""
    with store.atomic() as db:
        db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? "
                   "WHERE id = ? AND sent_at IS NULL",
                   [mask_text(error)[:MAX_ERROR_CHARS], event_id])


def _event(row: tuple) -> OutboxEvent:
    values = list(row)
    values[5] = json.loads(values[5])
    return OutboxEvent(*values)
