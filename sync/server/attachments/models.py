"""The attachment tables: an upload's header, and its bytes in chunks.

The bytes live in the database (``attachment_chunks.data``, bytea on PostgreSQL),
so every server process sees the same upload, a restart loses nothing committed,
and a database backup holds the files with the cases they belong to. Chunks are
kept as they came (at most ``MAX_CHUNK_BYTES`` each), in order of ``position``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from sync.server.models import Base


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the appliance's UUID
    device_id: Mapped[str] = mapped_column(String(63))
    community: Mapped[str] = mapped_column(String(120))  # the uploading device's
    case_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    received: Mapped[int] = mapped_column(BigInteger)  # contiguous bytes held, from 0
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    __table_args__ = (Index("attachments_by_case", "case_id"),)


class AttachmentChunk(Base):
    __tablename__ = "attachment_chunks"
    attachment_id: Mapped[str] = mapped_column(String(36), ForeignKey("attachments.id", ondelete="CASCADE"),
                                               primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # the chunk's offset in the file
    data: Mapped[bytes] = mapped_column(LargeBinary)
