"""Notifications with their delivery state; lockers' grids, rating links and ratings.

Revision ID: 0004w
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004w"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("dedupe", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("case_id", sa.String(120)),
        sa.Column("community", sa.String(120)),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ),
        sa.Column("created_by", sa.String(120)))
    op.create_index("notifications_due", "notifications", ["state", "next_attempt_at"])
    op.create_index("notifications_by_case", "notifications", ["case_id"])
    op.create_table(
        "locker_grids",
        sa.Column("device_id", sa.String(63), primary_key=True),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("grid", sa.String(120), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("updated_at", TZ, nullable=False))
    op.create_index("locker_grids_by_grid", "locker_grids", ["community", "grid"])
    op.create_table(
        "rating_links",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(120), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ))
    op.create_index("ix_rating_links_case_id", "rating_links", ["case_id"])
    op.create_table(
        "ratings",
        sa.Column("case_id", sa.String(120), primary_key=True),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("rated_at", TZ, nullable=False))


def downgrade() -> None:
    for name in ("ratings", "rating_links", "locker_grids", "notifications"):
        op.drop_table(name)
