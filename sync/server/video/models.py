"""The video tables (migration 0004v): departments, staff presence, calls and their
declines, and the signals that carry messages between server processes.

- ``departments``: the street office's departments a kiosk can call (民政, 社保 …),
  by a short key; staff accounts name it in ``accounts.department``.
- ``staff_presence``: what a staff member chose (online, busy, away) and when a
  console of theirs was last seen connected (``seen_at``; NULL: none open).
- ``video_calls``: one row per call, its state (:mod:`sync.server.video.calls`), the
  kiosk's latest offer and the staff's answer (SDP), who took it, its clocks.
- ``video_call_declines``: a staff member who declined a call is not rung again.
- ``video_recording_chunks``: a recorded call (only a department set to record), in
  pieces as the staff console uploads them (migration 0006v).
- ``video_signals``: each message for a kiosk, a staff console or a department, as
  a row; on PostgreSQL a NOTIFY carries its id to every server process.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sync.server.models import Base, BigId


class Department(Base):
    __tablename__ = "departments"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer)
    answer_timeout_s: Mapped[int] = mapped_column(Integer)
    recording: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class StaffPresence(Base):
    __tablename__ = "staff_presence"
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"),
                                            primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # online | busy | away
    seen_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class VideoCall(Base):
    __tablename__ = "video_calls"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    department: Mapped[str] = mapped_column(String(40), ForeignKey("departments.key"))
    device_id: Mapped[str] = mapped_column(String(63))
    community: Mapped[str] = mapped_column(String(120))
    context: Mapped[dict[str, Any]]  # what the kiosk said of the resident, masked
    state: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(BigId)
    offer_sdp: Mapped[str | None] = mapped_column(Text)
    answer_sdp: Mapped[str | None] = mapped_column(Text)
    generation: Mapped[int] = mapped_column(Integer)  # offers made (reconnections renegotiate)
    recording: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))
    kiosk_seen_at: Mapped[datetime | None]
    staff_seen_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(String(120))  # call-back or follow-up case

    __table_args__ = (Index("video_calls_queue", "department", "state", "created_at"),)


class CallDecline(Base):
    __tablename__ = "video_call_declines"
    call_id: Mapped[str] = mapped_column(String(36), ForeignKey("video_calls.id", ondelete="CASCADE"),
                                         primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]


class Signal(Base):
    __tablename__ = "video_signals"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(String(80))
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


class RecordingChunk(Base):
    """A piece of a recorded call (WebM from the staff console's MediaRecorder), in
    order by ``seq``; the recording is the chunks joined. In the database, so every
    server process (and machine) serves it; deleted after its retention."""
    __tablename__ = "video_recording_chunks"
    call_id: Mapped[str] = mapped_column(String(36), ForeignKey("video_calls.id", ondelete="CASCADE"),
                                         primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(index=True)
