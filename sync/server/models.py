"""The server's tables (SQLAlchemy 2). The schema itself is made by the Alembic
migrations in sync/server/migrations/versions; a test checks they agree.

- ``devices``, ``enrolment_codes``, ``request_nonces``: who may talk to the server.
- ``server_keys``: the server's own signing key (worker and booking codes).
- ``events``: every event every appliance pushed, in arrival order (``server_seq``),
  with the answer the server gave (``status``, ``reason``, ``case_state``) so the same
  push gets the same answer again. Quarantined events are rows with their reason.
- ``cases``: each case's current state, as the lifecycle allowed it.
- ``changes``: what appliances pull, in commit order; ``community`` NULL means everyone.
- content tables (households, subsidy records, service guide, certificate templates,
  worker keys, revocations, config): the current value of each record; every write
  also appends to ``changes`` (sync.server.content).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Device(Base):
    __tablename__ = "devices"
    device_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    community: Mapped[str] = mapped_column(String(120))
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw 32 bytes
    enrolled_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_heartbeat_at: Mapped[datetime | None]
    health: Mapped[dict[str, Any] | None]


class ServerKey(Base):
    """The server's own Ed25519 key(s), by the id appliances know them under
    (``[locker] server_key_id``, ``server``): created at first start, shared by every
    server process through the database (sync.server.keys)."""

    __tablename__ = "server_keys"
    key_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    private_key: Mapped[str] = mapped_column(Text)  # PKCS#8 PEM, not encrypted: protect the database
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw 32 bytes
    created_at: Mapped[datetime]


class EnrolmentCode(Base):
    __tablename__ = "enrolment_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256: the code is never stored
    community: Mapped[str] = mapped_column(String(120))
    device_id: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RequestNonce(Base):
    __tablename__ = "request_nonces"
    device_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_ms: Mapped[int] = mapped_column(BigInteger, index=True)


class EventRow(Base):
    __tablename__ = "events"
    server_seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    device_id: Mapped[str] = mapped_column(String(63))
    device_seq: Mapped[int] = mapped_column(BigInteger)
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[str] = mapped_column(String(120))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[str] = mapped_column(String(40))  # as the appliance's clock said
    received_at: Mapped[datetime]
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # applied | quarantined
    reason: Mapped[str | None] = mapped_column(Text)
    case_state: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Index("events_by_aggregate", "aggregate_type", "aggregate_id"),
        Index("events_by_device", "device_id", "device_seq"),
        Index("events_quarantined", "status"),
    )


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    community: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime]
    last_event_id: Mapped[str] = mapped_column(String(36))


class ChangeRow(Base):
    __tablename__ = "changes"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    community: Mapped[str | None] = mapped_column(String(120))
    data: Mapped[dict[str, Any] | None]
    changed_at: Mapped[datetime]

    __table_args__ = (Index("changes_by_community", "community", "seq"),)


class _Record:
    """A content record: its current value; its history is in ``changes``."""

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    community: Mapped[str | None] = mapped_column(String(120))
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class Household(_Record, Base):
    __tablename__ = "households"  # 一户一档; never leaves its community


class SubsidyRecord(_Record, Base):
    __tablename__ = "subsidy_records"


class GuideItem(_Record, Base):
    __tablename__ = "guide_items"


class CertificateTemplate(_Record, Base):
    __tablename__ = "certificate_templates"


class WorkerKey(_Record, Base):
    __tablename__ = "worker_keys"


class Revocation(_Record, Base):
    __tablename__ = "revocations"


class ConfigEntry(_Record, Base):
    __tablename__ = "config_entries"


# change kind -> its table (device keys live in ``devices``)
RECORD_TABLES: dict[str, type[_Record]] = {
    "household": Household, "subsidy": SubsidyRecord, "guide_item": GuideItem,
    "certificate_template": CertificateTemplate, "worker_key": WorkerKey,
    "revocation": Revocation, "config": ConfigEntry,
}
