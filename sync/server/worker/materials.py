"""A case's materials as the consoles show them: the attachments appliances uploaded
for it (:mod:`sync.server.attachments`), complete ones only, with their type, size
and time; and their bytes for the access-checked console route.

Only attachments uploaded by a device of the case's own community are the case's (a
device of another community could name a case id before the case reaches the
server). An image is shown inline only when its type is one a browser draws safely
(JPEG, PNG, WebP, GIF) and its first bytes say so; anything else (a PDF, an image type
that lies) is a download, never rendered in the console's origin.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from sync.server.attachments import uploads
from sync.server.attachments.models import Attachment, AttachmentChunk
from sync.server.content import aware
from sync.server.models import Case

UPLOADS = Attachment.__table__
CHUNKS = AttachmentChunk.__table__
CASES = Case.__table__
# content type -> how its first bytes begin (WebP: RIFF....WEBP, checked apart)
IMAGES = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",),
          "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",)}
KINDS = {"image/jpeg": ("照片（JPEG）", "photo (JPEG)"), "image/png": ("图片（PNG）", "image (PNG)"),
         "image/webp": ("图片（WebP）", "image (WebP)"), "image/gif": ("图片（GIF）", "image (GIF)"),
         "application/pdf": ("PDF 文件", "PDF document")}


@dataclass
class Material:
    id: str
    case_id: str
    name: str
    content_type: str
    size: int
    uploaded_at: datetime  # when the upload completed at the server
    device_id: str
    inline: bool = False  # an image the console may draw

    @property
    def kind(self) -> tuple[str, str]:
        return KINDS.get(self.content_type, (self.content_type, self.content_type))

    @property
    def size_text(self) -> str:
        if self.size < 1024:
            return f"{self.size} B"
        if self.size < 1024 * 1024:
            return f"{self.size / 1024:.0f} KB"
        return f"{self.size / 1024 / 1024:.1f} MB"

    @property
    def filename(self) -> str:
        return self.name or f"{self.id}{'.pdf' if self.content_type == 'application/pdf' else ''}"


def _looks_like(content_type: str, head: bytes) -> bool:
    starts = IMAGES.get(content_type)
    if not starts or not any(head.startswith(s) for s in starts):
        return False
    return content_type != "image/webp" or head[8:12] == b"WEBP"


def _head(conn: Connection, upload_id: str) -> bytes:
    value = conn.execute(select(func.substr(CHUNKS.c.data, 1, 16)).where(
        CHUNKS.c.attachment_id == upload_id, CHUNKS.c.position == 0)).scalar()
    return bytes(value or b"")


def _material(conn: Connection, row: Any) -> Material:
    found = Material(row.id, row.case_id, row.name, row.content_type, int(row.size), aware(row.completed_at),
                     row.device_id)
    found.inline = row.content_type in IMAGES and _looks_like(row.content_type, _head(conn, row.id))
    return found


def _query(case_id: str):
    community = select(CASES.c.community).where(CASES.c.id == case_id).scalar_subquery()
    return select(UPLOADS).where(UPLOADS.c.case_id == case_id, UPLOADS.c.completed_at.is_not(None),
                                 UPLOADS.c.community == community)


def of_case(conn: Connection, case_id: str) -> list[Material]:
    """The case's complete attachments, oldest first."""
    return [_material(conn, row) for row in conn.execute(_query(case_id).order_by(UPLOADS.c.completed_at,
                                                                                   UPLOADS.c.id))]


def one(conn: Connection, case_id: str, attachment_id: str) -> Material | None:
    """Attachment ``attachment_id`` if it is a complete one of ``case_id`` (the caller
    has checked who may see the case), else None."""
    row = conn.execute(_query(case_id).where(UPLOADS.c.id == attachment_id)).first()
    return _material(conn, row) if row is not None else None


def content(engine: Engine, attachment_id: str) -> Iterator[bytes]:
    """The attachment's bytes a chunk at a time, on a connection of its own (a
    streamed answer outlives the request's)."""
    with engine.connect() as conn:
        yield from uploads.read(conn, attachment_id)


__all__ = ["Material", "content", "of_case", "one"]
