"""events: rsvp details, due-work useful life, periodic runs, shared rate limits

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import outreach.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_DATETIME = outreach.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "periodic_runs",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("run_key", sa.String(length=200), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job", "run_key", name=op.f("pk_periodic_runs")),
    )
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("next_free", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )
    with op.batch_alter_table("rsvps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invited_at", UTC_DATETIME, nullable=True))
        batch_op.create_index("ix_rsvps_event_id_status", ["event_id", "status"], unique=False)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("config", sa.JSON(), server_default="{}", nullable=False))
    with op.batch_alter_table("due_work", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("due_work", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("config")
    with op.batch_alter_table("rsvps", schema=None) as batch_op:
        batch_op.drop_index("ix_rsvps_event_id_status")
        batch_op.drop_column("invited_at")
    op.drop_table("rate_limits")
    op.drop_table("periodic_runs")
