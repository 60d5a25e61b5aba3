"""Staff accounts, their sessions and failed logins; announcements for kiosks.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("community", sa.String(120)),
        sa.Column("grid", sa.String(120)),
        sa.Column("department", sa.String(120)),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("password_changed_at", TZ, nullable=False),
        sa.Column("disabled_at", TZ))
    op.create_index("accounts_by_community", "accounts", ["community", "role"])
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("account_id", BIG_ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.Column("address", sa.String(64)))
    op.create_index("ix_staff_sessions_account_id", "staff_sessions", ["account_id"])
    op.create_table(
        "login_failures",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("at", TZ, nullable=False))
    op.create_index("login_failures_by_subject", "login_failures", ["subject", "at"])
    op.create_table(
        "announcements",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("community", sa.String(120)),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False))


def downgrade() -> None:
    for name in ("announcements", "login_failures", "staff_sessions", "accounts"):
        op.drop_table(name)
