"""Attachments uploaded by appliances in resumable chunks (sync.server.attachments).

Revision ID: 0003a
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003a"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("device_id", sa.String(63), nullable=False),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("case_id", sa.String(120), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("completed_at", TZ))
    op.create_index("attachments_by_case", "attachments", ["case_id"])
    op.create_table(
        "attachment_chunks",
        sa.Column("attachment_id", sa.String(36), sa.ForeignKey("attachments.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("position", sa.BigInteger(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False))


def downgrade() -> None:
    op.drop_table("attachment_chunks")
    op.drop_index("attachments_by_case", "attachments")
    op.drop_table("attachments")
