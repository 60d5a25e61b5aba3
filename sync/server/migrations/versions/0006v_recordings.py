"""Video consultation: recorded calls, in chunks (departments set to record only).

Revision ID: 0006v
Revises: 0004v
"""
import sqlalchemy as sa
from alembic import op

revision = "0006v"
down_revision = "0004v"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "video_recording_chunks",
        sa.Column("call_id", sa.String(36), sa.ForeignKey("video_calls.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", TZ, nullable=False))
    op.create_index("ix_video_recording_chunks_received_at", "video_recording_chunks", ["received_at"])


def downgrade() -> None:
    op.drop_table("video_recording_chunks")
