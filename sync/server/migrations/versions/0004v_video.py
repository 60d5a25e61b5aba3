"""Video consultation: departments, staff presence, calls, declines, signals.

Revision ID: 0004v
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004v"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("name_en", sa.String(120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("answer_timeout_s", sa.Integer(), nullable=False),
        sa.Column("recording", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False))
    op.create_table(
        "staff_presence",
        sa.Column("account_id", BIG_ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("seen_at", TZ),
        sa.Column("updated_at", TZ, nullable=False))
    op.create_table(
        "video_calls",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("department", sa.String(40), sa.ForeignKey("departments.key"), nullable=False),
        sa.Column("device_id", sa.String(63), nullable=False),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("staff_id", BIG_ID),
        sa.Column("offer_sdp", sa.Text()),
        sa.Column("answer_sdp", sa.Text()),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("recording", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("answered_at", TZ),
        sa.Column("ended_at", TZ),
        sa.Column("end_reason", sa.String(40)),
        sa.Column("kiosk_seen_at", TZ),
        sa.Column("staff_seen_at", TZ),
        sa.Column("note", sa.Text()),
        sa.Column("case_id", sa.String(120)))
    op.create_index("video_calls_queue", "video_calls", ["department", "state", "created_at"])
    op.create_table(
        "video_call_declines",
        sa.Column("call_id", sa.String(36), sa.ForeignKey("video_calls.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("account_id", BIG_ID, primary_key=True),
        sa.Column("at", TZ, nullable=False))
    op.create_table(
        "video_signals",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(80), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False))
    op.create_index("ix_video_signals_created_at", "video_signals", ["created_at"])


def downgrade() -> None:
    for name in ("video_signals", "video_call_declines", "video_calls", "staff_presence", "departments"):
        op.drop_table(name)
