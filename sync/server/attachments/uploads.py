"""Resumable uploads: create, add a chunk at an offset, say how much is held, finish.

Every step is idempotent, so an appliance repeats whatever it is unsure of after a
dropped connection or a server restart:

- *create* with the appliance's UUID: the same header again answers the upload's
  status; another header (or another device) under that UUID is a conflict.
- *chunk at offset N*: appended when N is exactly what the server holds; a chunk the
  server already holds (the answer was lost) is compared byte for byte and answered
  as before, and only its new tail (if any) is stored; a gap, different bytes at a
  held offset, or bytes past the declared size are refused with where it stands.
- *finish*: every byte is there and the SHA-256 matches the declared one. A file
  whose digest does not match is discarded (held back to 0 bytes), so the appliance
  uploads it again from the start instead of finishing a damaged file.

The upload row is locked (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite) for a chunk and for finish, so two server processes never interleave
chunks of one upload. Nothing is kept in process memory.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sync.server.attachments.models import Attachment, AttachmentChunk
from sync.server.content import now
from sync.server.ingest import Device
from sync.server.models import Case
from sync.wire import MAX_CHUNK_BYTES, AttachmentCreate, AttachmentStatus

UPLOADS = Attachment.__table__
CHUNKS = AttachmentChunk.__table__
CASES = Case.__table__
READ_BATCH = 16  # chunks fetched at once when hashing or reading a file


class UploadRefused(Exception):
    """An upload step the server cannot do; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, detail: str, received: int | None = None) -> None:
        self.status, self.detail, self.received = status, detail, received
        super().__init__(detail)


@dataclass(frozen=True)
class Created:
    status: AttachmentStatus
    new: bool  # False: the upload existed with this header (a repeated create)


def _status(row: Any, **now_: Any) -> AttachmentStatus:
    """The status of ``row``, with the columns in ``now_`` as they are after this change."""
    values = {**row._asdict(), **now_}
    return AttachmentStatus(id=values["id"], case_id=values["case_id"], content_type=values["content_type"],
                            name=values["name"], size=values["size"], sha256=values["sha256"],
                            received=values["received"], complete=values["completed_at"] is not None)


def _header(request: AttachmentCreate) -> dict[str, Any]:
    return {"case_id": request.case_id, "content_type": request.content_type, "name": request.name,
            "size": request.size, "sha256": request.sha256}


def _locked(conn: Connection, device: Device, upload_id: str) -> Any:
    query = select(UPLOADS).where(UPLOADS.c.id == upload_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None or row.device_id != device.device_id:
        # another device's upload is none of this one's business: the same answer as none
        raise UploadRefused(404, f"no upload {upload_id} from device {device.device_id}: "
                                 "create it first (POST /api/v1/attachments)")
    return row


def create(conn: Connection, device: Device, request: AttachmentCreate) -> Created:
    upload_id = str(request.id)
    header = _header(request)
    row = conn.execute(select(UPLOADS).where(UPLOADS.c.id == upload_id)).first()
    if row is None:
        owner = conn.execute(select(CASES.c.community).where(CASES.c.id == request.case_id)).scalar_one_or_none()
        if owner is not None and owner != device.community:
            raise UploadRefused(403, f"case {request.case_id} belongs to another community than device "
                                     f"{device.device_id}'s")
        # a create repeated while the first is still running (its answer timed out)
        # meets the first one's row here instead of failing on the primary key
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(UPLOADS)
        added = conn.execute(insert.values(id=upload_id, device_id=device.device_id, community=device.community,
                                           received=0, created_at=now(), completed_at=None, **header)
                             .on_conflict_do_nothing().returning(UPLOADS.c.id)).first()
        row = conn.execute(select(UPLOADS).where(UPLOADS.c.id == upload_id)).one()
        if added is not None:
            return Created(_status(row), new=True)
    if row.device_id != device.device_id or any(getattr(row, k) != v for k, v in header.items()):
        raise UploadRefused(409, f"upload {upload_id} already exists with another header (case, type, "
                                 "name, size or SHA-256): use a new UUID for another file", row.received
                            if row.device_id == device.device_id else 0)
    return Created(_status(row), new=False)


def status(conn: Connection, device: Device, upload_id: str) -> AttachmentStatus:
    row = conn.execute(select(UPLOADS).where(UPLOADS.c.id == upload_id)).first()
    if row is None or row.device_id != device.device_id:
        raise UploadRefused(404, f"no upload {upload_id} from device {device.device_id}: "
                                 "create it first (POST /api/v1/attachments)")
    return _status(row)


def _held(conn: Connection, upload_id: str, start: int, end: int) -> bytes:
    """The bytes the server holds in [start, end) (all of them must be held)."""
    rows = conn.execute(select(CHUNKS.c.position, CHUNKS.c.data)
                        .where(CHUNKS.c.attachment_id == upload_id, CHUNKS.c.position < end)
                        .order_by(CHUNKS.c.position.desc())).all()
    parts = []
    for row in rows:  # from the last chunk that starts before ``end`` backwards
        chunk_end = row.position + len(row.data)
        if chunk_end <= start:
            break
        parts.append(bytes(row.data)[max(0, start - row.position):end - row.position])
    return b"".join(reversed(parts))


def put_chunk(conn: Connection, device: Device, upload_id: str, offset: int, data: bytes) -> AttachmentStatus:
    if not data:
        raise UploadRefused(422, "empty chunk: send at least one byte")
    if len(data) > MAX_CHUNK_BYTES:
        raise UploadRefused(413, f"chunk of {len(data)} bytes: at most {MAX_CHUNK_BYTES} in one request")
    row = _locked(conn, device, upload_id)
    end = offset + len(data)
    if end > row.size:
        raise UploadRefused(422, f"chunk [{offset}, {end}) goes past the declared size of {row.size} bytes",
                            row.received)
    if offset > row.received:
        raise UploadRefused(409, f"the server holds {row.received} bytes of upload {upload_id}: "
                                 f"send from offset {row.received}, not {offset}", row.received)
    overlap_end = min(end, row.received)
    if offset < overlap_end and _held(conn, upload_id, offset, overlap_end) != data[:overlap_end - offset]:
        raise UploadRefused(409, f"bytes at offset {offset} differ from those the server already holds; "
                                 f"the file changed during the upload: start a new upload", row.received)
    if end > row.received:
        tail = data[row.received - offset:]
        conn.execute(CHUNKS.insert().values(attachment_id=upload_id, position=row.received, data=tail))
        conn.execute(update(UPLOADS).where(UPLOADS.c.id == upload_id).values(received=end))
        return _status(row, received=end)
    return _status(row)


def _digest(conn: Connection, upload_id: str) -> str:
    digest = hashlib.sha256()
    for data in read(conn, upload_id):
        digest.update(data)
    return digest.hexdigest()


def finish(conn: Connection, device: Device, upload_id: str) -> AttachmentStatus:
    """Complete the upload. A digest mismatch is not raised here: the upload is reset
    in this transaction (the caller commits the reset) and answered with ``complete``
    False and ``received`` 0, which the caller turns into its refusal."""
    row = _locked(conn, device, upload_id)
    if row.completed_at is not None:
        return _status(row)
    if row.received < row.size:
        raise UploadRefused(409, f"the server holds {row.received} of {row.size} bytes: send from offset "
                                 f"{row.received}, then finish", row.received)
    if _digest(conn, upload_id) != row.sha256:
        conn.execute(delete(CHUNKS).where(CHUNKS.c.attachment_id == upload_id))
        conn.execute(update(UPLOADS).where(UPLOADS.c.id == upload_id).values(received=0))
        return _status(row, received=0)
    when = now()
    conn.execute(update(UPLOADS).where(UPLOADS.c.id == upload_id).values(completed_at=when))
    return _status(row, completed_at=when)


def read(conn: Connection, upload_id: str) -> Iterator[bytes]:
    """The upload's bytes in order, a chunk at a time (for the consoles, and finish)."""
    position = -1
    while True:
        rows = conn.execute(select(CHUNKS.c.position, CHUNKS.c.data)
                            .where(CHUNKS.c.attachment_id == upload_id, CHUNKS.c.position > position)
                            .order_by(CHUNKS.c.position).limit(READ_BATCH)).all()
        if not rows:
            return
        for row in rows:
            yield bytes(row.data)
        position = rows[-1].position


def for_case(conn: Connection, case_id: str) -> list[AttachmentStatus]:
    """The completed attachments of a case, oldest first (what a console shows)."""
    rows = conn.execute(select(UPLOADS).where(UPLOADS.c.case_id == case_id, UPLOADS.c.completed_at.is_not(None))
                        .order_by(UPLOADS.c.created_at, UPLOADS.c.id)).all()
    return [_status(row) for row in rows]


def held_bytes(conn: Connection) -> int:
    """Bytes of every upload held (complete or not): for the console's disk figure."""
    return int(conn.execute(select(func.coalesce(func.sum(UPLOADS.c.received), 0))).scalar_one())
