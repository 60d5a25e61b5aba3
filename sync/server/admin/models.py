"""The admin console's own content table (migration 0003): announcements for kiosks.

An announcement is a content record like the others (sync.server.content): every
write also appends a change of kind ``announcement``, which appliances of its
community (or every appliance, for community None) pull. Its data:
``{"text": 中文, "text_en": English, "starts": "YYYY-MM-DD" | None,
"ends": "YYYY-MM-DD" | None, "order": int, "community": str | None}``.
"""
from __future__ import annotations

from sync.server.models import RECORD_TABLES, Base, _Record


class Announcement(_Record, Base):
    __tablename__ = "announcements"


RECORD_TABLES["announcement"] = Announcement
