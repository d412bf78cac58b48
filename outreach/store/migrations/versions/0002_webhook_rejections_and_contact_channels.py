"""webhook rejections and contact channels

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import outreach.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_rejections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", outreach.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_rejections")),
    )
    with op.batch_alter_table("webhook_rejections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_rejections_at"), ["at"], unique=False)

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), server_default="sms", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("channel")

    with op.batch_alter_table("webhook_rejections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_rejections_at"))

    op.drop_table("webhook_rejections")
