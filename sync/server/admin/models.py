"""The admin console's own tables: announcements for kiosks (migration 0003) and the
reviews of quarantined events (migration 0003b).

An announcement is a content record like the others (sync.server.content): every
write also appends a change of kind ``announcement``, which appliances of its
community (or every appliance, for community None) pull. Its data:
``{"text": 中文, "text_en": English, "starts": "YYYY-MM-DD" | None,
"ends": "YYYY-MM-DD" | None, "order": int, "community": str | None}``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sync.server.models import RECORD_TABLES, Base, _Record


class Announcement(_Record, Base):
    __tablename__ = "announcements"


RECORD_TABLES["announcement"] = Announcement


class QuarantineReview(Base):
    """What an admin did about a quarantined event (migration 0003b): ``dismissed``
    (it stays quarantined, its device gets the same answer, the console hides it) or
    ``retried`` (applied now, or still refused with the new reason)."""

    __tablename__ = "quarantine_reviews"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    by_account: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
