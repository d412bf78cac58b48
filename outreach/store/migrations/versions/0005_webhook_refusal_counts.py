"""webhook refusal counts per hour

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import outreach.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_refusal_counts",
        sa.Column("hour", outreach.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "hour", "endpoint", "reason", "status_code", name=op.f("pk_webhook_refusal_counts")
        ),
    )


def downgrade() -> None:
    op.drop_table("webhook_refusal_counts")
