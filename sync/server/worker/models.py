"""The worker console's tables.

- ``locker_grids``: which grid (网格) each locker serves; a worker sees the lockers
  of her grid and the cases in them.
- ``rating_links``: single-use, expiring links sent to residents after pickup (only
  the SHA-256 of the token is kept).
- ``ratings``: one rating per case (1–5 and a comment), from a link or the kiosk.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sync.server.models import Base


class LockerGrid(Base):
    __tablename__ = "locker_grids"
    device_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    community: Mapped[str] = mapped_column(String(120))
    grid: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(120))  # where it stands, as residents know it
    updated_at: Mapped[datetime]

    __table_args__ = (Index("locker_grids_by_grid", "community", "grid"),)


class RatingLink(Base):
    __tablename__ = "rating_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(120), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Rating(Base):
    __tablename__ = "ratings"
    case_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    community: Mapped[str] = mapped_column(String(120))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # link | kiosk
    rated_at: Mapped[datetime]
