"""What admins did about quarantined events (retried, dismissed).

Revision ID: 0003b
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0003b"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantine_reviews",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("by_account", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text()))


def downgrade() -> None:
    op.drop_table("quarantine_reviews")
