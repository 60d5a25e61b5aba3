"""Devices, enrolment codes, nonces, events, cases, the change feed, content tables.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
RECORD_TABLES = ("households", "subsidy_records", "guide_items", "certificate_templates",
                 "worker_keys", "revocations", "config_entries")


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(63), primary_key=True),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("enrolled_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ),
        sa.Column("last_heartbeat_at", TZ),
        sa.Column("health", sa.JSON()))
    op.create_table(
        "enrolment_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("device_id", sa.String(63), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ))
    op.create_table(
        "request_nonces",
        sa.Column("device_id", sa.String(63), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("seen_ms", sa.BigInteger(), nullable=False))
    op.create_index("ix_request_nonces_seen_ms", "request_nonces", ["seen_ms"])
    op.create_table(
        "events",
        sa.Column("server_seq", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("device_id", sa.String(63), nullable=False),
        sa.Column("device_seq", sa.BigInteger(), nullable=False),
        sa.Column("aggregate_type", sa.String(40), nullable=False),
        sa.Column("aggregate_id", sa.String(120), nullable=False),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("case_state", sa.String(40)))
    op.create_index("events_by_aggregate", "events", ["aggregate_type", "aggregate_id"])
    op.create_index("events_by_device", "events", ["device_id", "device_seq"])
    op.create_index("events_quarantined", "events", ["status"])
    op.create_table(
        "cases",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("community", sa.String(120), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("last_event_id", sa.String(36), nullable=False))
    op.create_table(
        "changes",
        sa.Column("seq", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("community", sa.String(120)),
        sa.Column("data", sa.JSON()),
        sa.Column("changed_at", TZ, nullable=False))
    op.create_index("changes_by_community", "changes", ["community", "seq"])
    for name in RECORD_TABLES:
        op.create_table(
            name,
            sa.Column("key", sa.String(200), primary_key=True),
            sa.Column("community", sa.String(120)),
            sa.Column("data", sa.JSON(), nullable=False),
            sa.Column("updated_at", TZ, nullable=False))


def downgrade() -> None:
    for name in (*RECORD_TABLES, "changes", "cases", "events", "request_nonces", "enrolment_codes", "devices"):
        op.drop_table(name)
