"""The ``notifications`` table: every message to a resident, with its delivery state.

``state`` is ``pending`` (to be sent at ``next_attempt_at``), ``sent`` or ``failed``
(gave up after ``SYNC_NOTIFY_MAX_ATTEMPTS``, or nothing to send it to); ``attempts``
and ``last_error`` say how it went. ``dedupe`` makes enqueueing idempotent: the same
fact (an event UUID) never makes a second message.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sync.server.models import Base, BigId


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dedupe: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))  # pickup_ready | rate_service | contact
    case_id: Mapped[str | None] = mapped_column(String(120))
    community: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(120))  # a worker's username for contact messages

    __table_args__ = (
        Index("notifications_due", "state", "next_attempt_at"),
        Index("notifications_by_case", "case_id"),
    )
