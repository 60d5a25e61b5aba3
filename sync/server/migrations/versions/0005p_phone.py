"""Residents' phone pages: phone links, sign-in codes, attempts, sessions, cases made
on a phone, bookings and photos.

Revision ID: 0005p
Revises: 0004w
"""
import sqlalchemy as sa
from alembic import op

revision = "0005p"
down_revision = "0004w"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "phone_links",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("household", sa.String(200), nullable=False),
        sa.Column("id_number", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("linked_by", sa.String(120), nullable=False),
        sa.Column("linked_at", TZ, nullable=False),
        sa.UniqueConstraint("community", "phone", name="phone_links_one_per_phone"))
    op.create_table(
        "phone_codes",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ))
    op.create_index("ix_phone_codes_phone", "phone_codes", ["phone"])
    op.create_table(
        "phone_attempts",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("at", TZ, nullable=False))
    op.create_index("phone_attempts_by_key", "phone_attempts", ["kind", "key", "at"])
    op.create_table(
        "phone_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False))
    op.create_table(
        "phone_cases",
        sa.Column("case_id", sa.String(120), primary_key=True),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False))
    op.create_index("phone_cases_by_phone", "phone_cases", ["community", "phone"])
    op.create_table(
        "phone_bookings",
        sa.Column("case_id", sa.String(120), primary_key=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("short_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("size", sa.String(1), nullable=False),
        sa.Column("locker", sa.String(63), nullable=False),
        sa.Column("expires_at", TZ, nullable=False))
    op.create_table(
        "phone_photos",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(120), nullable=False),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False))
    op.create_index("ix_phone_photos_case_id", "phone_photos", ["case_id"])
    op.create_index("ix_phone_photos_expires_at", "phone_photos", ["expires_at"])


def downgrade() -> None:
    for table in ("phone_photos", "phone_bookings", "phone_cases", "phone_sessions", "phone_attempts", "phone_codes",
                  "phone_links"):
        op.drop_table(table)
