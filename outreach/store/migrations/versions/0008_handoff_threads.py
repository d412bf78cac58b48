"""handoffs: where the conversation was, the partner and Slack thread that take it up

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import outreach.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIME = outreach.store.types.UTCDateTime(timezone=True)
COLUMNS = (
    ("flow", sa.String(length=64)),
    ("step", sa.String(length=64)),
    ("partner", sa.String(length=64)),
    ("slack_channel", sa.String(length=32)),
    ("thread_ts", sa.String(length=32)),
    ("raised_at", TIME),
    ("answered_at", TIME),
    ("closed_at", TIME),
    ("closed_by", sa.String(length=64)),
)


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        for name, kind in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.create_index(batch_op.f("ix_handoffs_thread_ts"), ["thread_ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoffs_thread_ts"))
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
