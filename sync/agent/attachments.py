"""Attachments queued on the appliance for the server (a scanned document for a case).

The daemon that makes a case queues its file in the SAME transaction as the event
that mentions it, in the appliance store it owns::

    with store.atomic() as db:
        append_event(db, aggregate_type="case", aggregate_id=case_id, event_type="created", payload=…)
        queue_attachment(db, case_id=case_id, content_type="application/pdf", data=scan, name="户口本.pdf")

The bytes wait in the store (``attachments_out.data``, a BLOB) until the server has
them all and checked their SHA-256; then the bytes are dropped (the row stays, with
its digest and ``uploaded_at``), so a scan does not linger on the appliance's disk.
The agent (:meth:`sync.agent.Agent.upload_all`) sends them after the events, in
chunks, resuming from what the server holds.

The table comes with this package's migration (``sync_attachments``); a store opened
with ``Store(path, [attachments.migrations, …])`` has it, and the agent adds it to a
store that does not (:func:`ensure`).
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlite_utils import Database

from appliance.privacy import mask_text
from sync.errors import OutboxError
from sync.store import Migrations, Store
from sync.store import migrations as schema
from sync.wire import MAX_ATTACHMENT_BYTES

migrations = Migrations("sync_attachments")
MAX_ERROR_CHARS = 500
READ_PIECE = 1024 * 1024  # bytes read at once when hashing a queued file


@migrations.add("0001_attachments_out")
def _create(db: Database) -> None:
    db.execute("""
        CREATE TABLE attachments_out (
            id TEXT PRIMARY KEY,               -- the upload's UUID: the server's idempotency key
            seq INTEGER NOT NULL UNIQUE,       -- queue order
            case_id TEXT NOT NULL,
            content_type TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            size INTEGER NOT NULL CHECK (size > 0),
            sha256 TEXT NOT NULL,
            data BLOB,                         -- NULL once the server has it all
            queued_at TEXT NOT NULL,           -- UTC, ISO 8601
            uploaded_at TEXT,                  -- NULL until the server checked the SHA-256
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        )""")
    db.execute("CREATE INDEX attachments_out_pending ON attachments_out (seq) WHERE uploaded_at IS NULL")


@dataclass(frozen=True)
class QueuedAttachment:
    id: str
    seq: int
    case_id: str
    content_type: str
    name: str
    size: int
    sha256: str
    queued_at: str
    uploaded_at: str | None
    attempts: int
    last_error: str | None


_COLUMNS = "id, seq, case_id, content_type, name, size, sha256, queued_at, uploaded_at, attempts, last_error"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _file(db: Database) -> str:
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] if row else "?"


def ensure(store: Store) -> None:
    """Add the queue's table to ``store`` if it lacks it (idempotent)."""
    with store.atomic() as db:
        schema.apply(db, [migrations], store.path)


def queue_attachment(db: Database, *, case_id: str, content_type: str, data: bytes, name: str = "",
                     attachment_id: str | None = None) -> str:
    """Queue ``data`` for upload inside the caller's ``store.atomic()``; return its UUID."""
    if not db.conn.in_transaction:
        raise OutboxError(_file(db), "queue_attachment() called outside a transaction",
                          hint="call it inside the same store.atomic() as the event that mentions the file")
    if not data or len(data) > MAX_ATTACHMENT_BYTES:
        raise OutboxError(_file(db), f"an attachment of {len(data)} bytes cannot be sent",
                          hint=f"a file must have 1 to {MAX_ATTACHMENT_BYTES} bytes: scan at a lower "
                               "resolution or split the document")
    attachment_id = str(uuid.UUID(attachment_id)) if attachment_id else str(uuid.uuid4())
    db.execute("INSERT INTO attachments_out (id, seq, case_id, content_type, name, size, sha256, data, queued_at) "
               "VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM attachments_out), ?, ?, ?, ?, ?, ?, ?)",
               [attachment_id, case_id, content_type, name, len(data), hashlib.sha256(data).hexdigest(),
                data, _now()])
    return attachment_id


def pending_attachments(store: Store, limit: int = 100) -> list[QueuedAttachment]:
    """The oldest attachments the server does not have yet, in queue order."""
    with store.reader() as db:
        rows = db.execute(f"SELECT {_COLUMNS} FROM attachments_out WHERE uploaded_at IS NULL "
                          "ORDER BY seq LIMIT ?", [limit]).fetchall()
    return [QueuedAttachment(*row) for row in rows]


def get_attachment(store: Store, attachment_id: str) -> QueuedAttachment | None:
    with store.reader() as db:
        row = db.execute(f"SELECT {_COLUMNS} FROM attachments_out WHERE id = ?", [attachment_id]).fetchone()
    return QueuedAttachment(*row) if row else None


def read_range(store: Store, attachment_id: str, offset: int, length: int) -> bytes:
    """``length`` bytes of a queued file from ``offset`` (without reading the rest)."""
    with store.reader() as db:
        row = db.execute("SELECT substr(data, ?, ?) FROM attachments_out WHERE id = ?",
                         [offset + 1, length, attachment_id]).fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""


def local_digest(store: Store, attachment: QueuedAttachment) -> str:
    """The SHA-256 of the bytes the store holds now (to catch a file damaged on disk)."""
    digest = hashlib.sha256()
    for offset in range(0, attachment.size, READ_PIECE):
        digest.update(read_range(store, attachment.id, offset, READ_PIECE))
    return digest.hexdigest()


def mark_uploaded(store: Store, attachment_id: str) -> None:
    """The server holds the file and checked it: drop the bytes, keep the record."""
    with store.atomic() as db:
        db.execute("UPDATE attachments_out SET uploaded_at = ?, data = NULL, last_error = NULL "
                   "WHERE id = ? AND uploaded_at IS NULL", [_now(), attachment_id])


def mark_failed(store: Store, attachment_id: str, error: str) -> None:
    with store.atomic() as db:
        db.execute("UPDATE attachments_out SET attempts = attempts + 1, last_error = ? "
                   "WHERE id = ? AND uploaded_at IS NULL", [mask_text(error)[:MAX_ERROR_CHARS], attachment_id])
