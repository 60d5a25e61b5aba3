"""The residents' phone pages' tables.

- ``phone_links``: a phone number linked to a member of a household record (一户一档),
  by a community admin or confirmed at the kiosk with the ID card.
- ``phone_codes``: one-time SMS sign-in codes (only a salted SHA-256 is kept;
  expiring, single use).
- ``phone_attempts``: every code sent and every wrong code, by phone number and by IP
  address, so several server processes share one rate limit.
- ``phone_sessions``: signed-in phones (only the SHA-256 of the cookie is kept).
- ``phone_cases``: cases made on a phone (applications, 报事 reports), whose phone.
- ``phone_bookings``: a case's booking QR and the hash of its short code.
- ``phone_photos``: photos of documents or of a reported problem, kept on the server
  only, until ``expires_at`` (then purged).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sync.server.models import Base, BigId


class PhoneLink(Base):
    __tablename__ = "phone_links"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(32))
    household: Mapped[str] = mapped_column(String(200))  # the household record's key
    id_number: Mapped[str] = mapped_column(String(32))  # the member's
    source: Mapped[str] = mapped_column(String(16))  # admin | kiosk
    linked_by: Mapped[str] = mapped_column(String(120))
    linked_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("community", "phone", name="phone_links_one_per_phone"),)


class PhoneCode(Base):
    __tablename__ = "phone_codes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PhoneAttempt(Base):
    __tablename__ = "phone_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))  # send | wrong | booking
    key: Mapped[str] = mapped_column(String(80))  # "phone:138…" or "ip:1.2.3.4"
    at: Mapped[datetime]

    __table_args__ = (Index("phone_attempts_by_key", "kind", "key", "at"),)


class PhoneSession(Base):
    __tablename__ = "phone_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))
    community: Mapped[str] = mapped_column(String(120))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class PhoneCase(Base):
    __tablename__ = "phone_cases"
    case_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    community: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # application | report
    created_at: Mapped[datetime]

    __table_args__ = (Index("phone_cases_by_phone", "community", "phone"),)


class PhoneBooking(Base):
    __tablename__ = "phone_bookings"
    case_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    code: Mapped[str] = mapped_column(Text)  # the signed booking QR (a bearer token: shown to its phone only)
    short_hash: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[str] = mapped_column(String(1))
    locker: Mapped[str] = mapped_column(String(63))
    expires_at: Mapped[datetime]


class PhonePhoto(Base):
    __tablename__ = "phone_photos"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(120), index=True)
    community: Mapped[str] = mapped_column(String(120))
    label: Mapped[str] = mapped_column(String(120))  # which material, or "报事"
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
