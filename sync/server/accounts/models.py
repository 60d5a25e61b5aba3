"""The accounts tables (migration 0003): staff accounts, their sessions, failed logins.

- ``accounts``: one row per person; only an argon2id hash of the password is kept.
- ``staff_sessions``: a signed-in browser, by the SHA-256 of its cookie token (the
  token itself is never stored), with the session's CSRF token and its two clocks
  (last seen for the idle expiry, created for the absolute one).
- ``login_failures``: one row per failed sign-in, by subject (``account:<username>``
  or ``ip:<address>``); counting recent rows is the lock-out. Rows, not counters, so
  two server processes failing at once never fight over one row.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sync.server.models import Base, BigId


class AccountRow(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    community: Mapped[str | None] = mapped_column(String(120))
    grid: Mapped[str | None] = mapped_column(String(120))
    department: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]

    __table_args__ = (Index("accounts_by_community", "community", "role"),)


class SessionRow(Base):
    __tablename__ = "staff_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    address: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]

    __table_args__ = (Index("login_failures_by_subject", "subject", "at"),)
